// Nothing leaves the machine: `predict` and `serve` with each backend under strace make no
// connect() but to loopback or local sockets, and create no file outside the package's folder.
// (onnxruntime-node's library, left alone, writes ~/.cache/Microsoft/… and $TMPDIR/mat-debug-*.log
// and resolves its telemetry collector; src/backends/onnx.ts sets ORT_DISABLE_TELEMETRY=1.)
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { packagePath } from '../src/paths.js';
import { photos, SAMPLES_DIR, trueIndex } from './helpers.js';

const CLI = packagePath('dist', 'cli.js');
const photo = photos(SAMPLES_DIR)[0];
// ONNX Runtime's uploader resolved its collector ~10 s after `serve` started here.
const SERVE_MS = 15_000;

const strace = (() => {
  try {
    execFileSync('strace', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

interface Traced {
  code: number | null;
  stdout: string;
  trace: string;
  home: string;
  tmp: string;
}

/** Runs the CLI under strace with a HOME and TMPDIR of its own; `during` runs while it is up. */
async function traced(args: string[], during?: (stdout: () => string) => Promise<void>): Promise<Traced> {
  const dir = mkdtempSync(join(tmpdir(), 'pytorch-infer-phone-'));
  const [home, tmp, trace] = [join(dir, 'home'), join(dir, 'tmp'), join(dir, 'trace.txt')];
  mkdirSync(home);
  mkdirSync(tmp);
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'ORT_DISABLE_TELEMETRY'));
  const child = spawn('strace', ['-f', '-qq', '-e', 'trace=connect,openat', '-o', trace, process.execPath, CLI, ...args], {
    env: { ...env, HOME: home, TMPDIR: tmp },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  const exited = once(child, 'exit');
  if (during) {
    try {
      await during(() => stdout);
    } finally {
      // To node itself (the trace's first pid), so strace sees its exit and exits with its code.
      // Never pid 0: that would signal this whole process group (the test runner, and the Docker
      // engine .ci/run started), so an unreadable trace fails the test instead.
      const pid = Number(readFileSync(trace, 'utf8').match(/^(\d+) /)?.[1]);
      if (!(Number.isInteger(pid) && pid > 0)) {
        child.kill('SIGKILL');
        throw new Error(`no pid at the start of ${trace}`);
      }
      process.kill(pid, 'SIGTERM');
    }
  }
  const [code] = await exited;
  return { code, stdout, trace: readFileSync(trace, 'utf8'), home, tmp };
}

/** What the trace shows leaving the machine or landing outside the package. */
function leaks({ trace }: Traced): string[] {
  const root = packagePath();
  const found: string[] = [];
  for (const line of trace.split('\n')) {
    const connect = line.match(/connect\(\d+, \{sa_family=(\w+)(.*?)\}/);
    if (connect) {
      const [, family, rest] = connect;
      const local = family === 'AF_UNIX' || /inet_addr\("127\./.test(rest) || /inet_pton\(AF_INET6, "(::1|::ffff:127\.[\d.]+)"/.test(rest);
      if (!local) found.push(line);
    }
    const open = line.match(/openat\((\w+), "([^"]*)", [^)]*O_CREAT/);
    if (open && !/= -1 /.test(line) && !(open[1] === 'AT_FDCWD' && open[2].startsWith(`${root}/`))) found.push(line);
  }
  return found;
}

function assertQuiet(run: Traced): void {
  assert.deepEqual(leaks(run), [], 'connect() to a non-local address, or a file created outside the package');
  assert.deepEqual(readdirSync(run.home, { recursive: true }), [], 'nothing written under HOME');
  assert.deepEqual(readdirSync(run.tmp, { recursive: true }), [], 'nothing written under TMPDIR');
}

describe('no phoning home', { skip: !strace && !process.env.CI && 'no strace (apt-get install strace)' }, () => {
  for (const backend of ['torchscript', 'onnx']) {
    it(`predict --backend ${backend}: no connect(), no file outside the package`, async () => {
      const run = await traced(['predict', '--json', '--backend', backend, photo]);
      assert.equal(run.code, 0, run.stdout);
      assert.equal(JSON.parse(run.stdout).predictions[0].index, trueIndex(photo));
      assertQuiet(run);
    });

    it(`serve --backend ${backend}, ${SERVE_MS / 1000} s with a request: no connect(), no file outside the package`, async () => {
      const started = Date.now();
      const run = await traced(['serve', '--backend', backend, '--port', '0', '--log-level', 'warn'], async (stdout) => {
        while (!/listening on (\S+)/.test(stdout())) {
          assert.ok(Date.now() - started < 120_000, `serve did not start: ${stdout()}`);
          await sleep(100);
        }
        const base = stdout().match(/listening on (\S+)/)![1];
        const res = await fetch(`${base}/v1/predict`, { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: readFileSync(photo) });
        assert.equal(res.status, 200);
        assert.equal((await res.json()).results[0].predictions[0].index, trueIndex(photo));
        await sleep(Math.max(0, SERVE_MS - (Date.now() - started)));
      });
      assert.equal(run.code, 0, 'serve exits 0 on SIGTERM');
      assertQuiet(run);
    });
  }
});
