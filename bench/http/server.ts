// A service under test as a real process: started like a user starts it, ready when its log says
// so, checked with one real answer, stopped with SIGTERM.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { packagePath } from '../../src/paths.js';

export interface ServiceSpec {
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** The base URL once the service's output (stdout and stderr) shows it is ready to answer. */
  readonly ready: (output: string) => string | undefined;
}

export interface Running {
  readonly base: string;
  readonly pid: number;
  /** What the service printed until it was ready. */
  readonly startup: string;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 180_000;
const STOP_TIMEOUT_MS = 15_000;

export async function startService(spec: ServiceSpec): Promise<Running> {
  const child = spawn(spec.command, spec.args, {
    cwd: packagePath(), // the configurations name model files relative to the package
    env: { ...process.env, ...spec.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Keep draining both pipes for the service's whole life (a full pipe would block its logging);
  // only the start of the output matters.
  let output = '';
  const keep = (chunk: string) => {
    if (output.length < 100_000) output += chunk;
  };
  child.stdout!.setEncoding('utf8').on('data', keep);
  child.stderr!.setEncoding('utf8').on('data', keep);
  const stop = () => stopChild(child);
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const base = spec.ready(output);
    if (base) return { base, pid: child.pid!, startup: output, stop };
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${spec.command} exited before it was ready:\n${output}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${spec.command} not ready after ${START_TIMEOUT_MS / 1000} s:\n${output}`);
    }
    await sleep(100);
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

/** POSTs one photo and throws unless the answer is a 200 whose top-1 class is `index`. */
export async function checkAnswer(base: string, photo: string, index: number): Promise<void> {
  const response = await fetch(`${base}/v1/predict?top=5`, {
    method: 'POST',
    headers: { 'content-type': 'image/jpeg' },
    body: readFileSync(photo),
    signal: AbortSignal.timeout(60_000),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${base}: HTTP ${response.status} to ${photo}: ${text}`);
  const top = (JSON.parse(text) as { results: { predictions: { index: number }[] }[] }).results[0].predictions;
  if (top.length !== 5 || top[0].index !== index) throw new Error(`${base}: ${photo} is class ${index}, the answer says ${text}`);
}
