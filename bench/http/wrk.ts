// HTTP load with wrk (a C load generator: it costs the 2-core machine less CPU than a Node
// client would, and that CPU is taken from the servers under test).
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const SCRIPT = fileURLToPath(new URL('./photos.lua', import.meta.url));

export interface Load {
  readonly seconds: number;
  /** 2xx answers. */
  readonly ok: number;
  /** Responses with another status, plus connect/read/write errors and timeouts. */
  readonly errors: number;
  /** 4xx answers (a bad photo's due answer in a mixed load). */
  readonly clientErrors: number;
  /** 5xx answers. */
  readonly serverErrors: number;
  /** Connect/read/write errors and timeouts: requests with no answer. */
  readonly socketErrors: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** A request other than a photo POSTed as image/jpeg to the URL: its own path, headers and body. */
export interface WrkRequest {
  readonly file: string;
  /** Path and query; default: the URL's. */
  readonly path?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * POSTs `photos` (photo files or requests, cycled) to `url` from `connections` connections for `seconds` (whole
 * seconds: wrk's unit), one wrk thread. The timeout is long so that a slow answer counts in the
 * latency instead of as an error (at c = 64 a slow service queues for seconds).
 */
export async function wrk(url: string, photos: readonly (string | WrkRequest)[], connections: number, seconds: number): Promise<Load> {
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '60s', '-s', SCRIPT, url, '--', ...photos.map(scriptArg)];
  const { stdout } = await promisify(execFile)('wrk', args, { timeout: (seconds + 120) * 1000 }).catch((err: NodeJS.ErrnoException) => {
    throw err.code === 'ENOENT' ? new Error('wrk is not installed (Debian, Ubuntu: apt-get install wrk)') : err;
  });
  const line = stdout.split('\n').find((l) => l.startsWith('{"durationUs"'));
  if (!line) throw new Error(`wrk printed no result: ${stdout}`);
  const r = JSON.parse(line) as {
    durationUs: number; responses: number; ok: number; clientErrors: number; serverErrors: number; socketErrors: number; p50Us: number; p99Us: number;
  };
  return {
    seconds: r.durationUs / 1e6,
    ok: r.ok,
    errors: r.responses - r.ok + r.socketErrors,
    clientErrors: r.clientErrors,
    serverErrors: r.serverErrors,
    socketErrors: r.socketErrors,
    p50Ms: r.p50Us / 1000,
    p99Ms: r.p99Us / 1000,
  };
}

/** photos.lua's form of a request: a photo's file name, or file, path and headers on lines of their own. */
function scriptArg(request: string | WrkRequest): string {
  if (typeof request === 'string') return request;
  const headers = Object.entries(request.headers ?? {}).map(([name, value]) => `${name}: ${value}`);
  return [request.file, request.path ?? '', ...headers].join('\n');
}
