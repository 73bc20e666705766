// The fuzz runs shared by bench/fuzz.ts and test/fuzz.test.ts: fuzzed photos through a running
// service from concurrent clients, through `predict`, and through PIL for the reference verdict.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { IDLE_RECLAIM_MS } from '../../src/engine/decode-pool.js';
import { packagePath } from '../../src/paths.js';
import { fuzzInput, type FuzzInput, type MutationKind, type Seed } from './mutate.js';
import { type Answer, send, type Transport, TRANSPORTS } from './send.js';

export interface ServiceOutcome extends Answer {
  readonly index: number;
  readonly kind: MutationKind;
  readonly seed: string;
  readonly transport: Transport;
}

export function fuzzInputs(seeds: readonly Seed[], seed: number, count: number): FuzzInput[] {
  return Array.from({ length: count }, (_, i) => fuzzInput(seeds, seed, i));
}

/** Each input once, `concurrency` clients at a time; input i goes by transport i mod 4. The outcomes are in input order. */
export async function fuzzService(
  base: string,
  model: string,
  inputs: readonly FuzzInput[],
  { concurrency, timeoutMs, onAnswer }: { concurrency: number; timeoutMs: number; onAnswer?: () => void },
): Promise<ServiceOutcome[]> {
  const outcomes: ServiceOutcome[] = new Array(inputs.length);
  let next = 0;
  const client = async () => {
    while (next < inputs.length) {
      const k = next++;
      const input = inputs[k];
      const transport = TRANSPORTS[input.index % TRANSPORTS.length];
      // Beyond the service's own timeout, so that a late answer is measured rather than cut off.
      const answer = await send(base, model, transport, input.bytes, timeoutMs + 15_000);
      outcomes[k] = { ...answer, index: input.index, kind: input.kind, seed: input.seed, transport };
      onAnswer?.();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  return outcomes;
}

export interface CliOutcome {
  readonly exitCode: number | null;
  readonly signal: string | null;
  /** Photos with a predictions row / with an error row; rows that are neither. */
  readonly accepted: ReadonlySet<number>;
  readonly refused: ReadonlyMap<number, string>;
  readonly faults: string[];
  readonly seconds: number;
}

/** All inputs as files in one folder through `predict --format jsonl`; every file must get a row. */
export async function fuzzCli(inputs: readonly FuzzInput[], decoder: string, timeoutMs: number): Promise<CliOutcome> {
  const dir = mkdtempSync(join(tmpdir(), 'pytorch-infer-fuzz-'));
  try {
    // A name predict walks (an image extension) and that says which input it is.
    for (const input of inputs) writeFileSync(join(dir, `${String(input.index).padStart(6, '0')}.jpg`), input.bytes);
    const started = performance.now();
    const { code, signal, stdout, stderr } = await new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(
        process.execPath,
        [packagePath('dist', 'cli.js'), 'predict', '--decoder', decoder, '--format', 'jsonl', '--no-progress', dir],
        { maxBuffer: 256 * 1024 * 1024, timeout: timeoutMs, killSignal: 'SIGKILL' },
        (_err, stdout, stderr) => resolve({ code: child.exitCode, signal: child.signalCode, stdout, stderr }),
      );
    });
    const accepted = new Set<number>();
    const refused = new Map<number, string>();
    const faults: string[] = [];
    for (const line of stdout.split('\n').filter(Boolean)) {
      const row = JSON.parse(line) as { file: string; predictions?: unknown[]; error?: string };
      const index = Number(/(\d+)\.jpg$/.exec(row.file)?.[1]);
      if (Array.isArray(row.predictions) && row.predictions.length > 0) accepted.add(index);
      else if (typeof row.error === 'string' && row.error.length >= 10) refused.set(index, row.error);
      else faults.push(`a row that is neither predictions nor an error: ${line.slice(0, 200)}`);
    }
    const missing = inputs.length - accepted.size - refused.size;
    if (missing) faults.push(`${missing} photos without a row`);
    if (signal !== null || (code !== 0 && code !== 1)) faults.push(`predict ended with ${signal ?? `exit code ${code}`}: ${stderr.slice(-500)}`);
    return { exitCode: code, signal, accepted, refused, faults, seconds: (performance.now() - started) / 1000 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface PilVerdict {
  readonly ok: boolean;
  readonly size?: [number, number];
  readonly error?: string;
}

/** PIL's verdict on each input (bench/fuzz/pil_verdicts.py in `python`). */
export function pilVerdicts(python: string, inputs: readonly FuzzInput[]): Promise<PilVerdict[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, [packagePath('bench', 'fuzz', 'pil_verdicts.py')], { stdio: ['pipe', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.on('error', reject);
    child.on('exit', (code) => {
      const verdicts = stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as PilVerdict);
      if (code !== 0 || verdicts.length !== inputs.length) reject(new Error(`pil_verdicts.py: exit code ${code}, ${verdicts.length} of ${inputs.length} verdicts`));
      else resolve(verdicts);
    });
    for (const input of inputs) {
      const head = Buffer.alloc(4);
      head.writeUInt32BE(input.bytes.length);
      child.stdin.write(head);
      child.stdin.write(input.bytes);
    }
    child.stdin.end();
  });
}

/** RSS of a process in bytes, from /proc. */
export function rssOf(pid: number): number {
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) * 1024;
}

/** Waits until an idle server's decode pool has given memory back (IDLE_RECLAIM_MS, and the trim after it). */
export function idleReclaimed(): Promise<void> {
  return sleep(IDLE_RECLAIM_MS + 1000);
}

/**
 * Where RSS comes back to once the service is idle: V8 unmaps freed heap pages (256 KB mappings in
 * /proc/PID/smaps) 5–8 s after the pool's reclaim. 300 fuzzed photos with jimp, 5 passes: 499, 622,
 * 501, 659, 631 MB as the reclaim ended, 395, 394, 398, 401, 424 MB 8 s later.
 */
export const IDLE_MS = 10_000;

/** The RSS of a service that has been idle IDLE_MS. */
export async function idleRss(pid: number): Promise<number> {
  await sleep(IDLE_MS);
  return rssOf(pid);
}
