// Runs a benchmark job in a fresh Node process: LibTorch's thread count is process-wide, and
// load time and peak RSS only mean something for a process that holds one model.
import { fork } from 'node:child_process';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Job, JobResult } from './jobs.js';

export type WorkerMessage =
  | { type: 'step' }
  | { type: 'result'; result: JobResult<Job> }
  | { type: 'error'; message: string };

// worker.js next to this file in dist/, worker.ts in src/ when run through tsx (whose loader
// the child inherits with process.execArgv).
const WORKER = fileURLToPath(new URL(`./worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

export function runInChild<J extends Job>(job: J, step: () => void): Promise<JobResult<J>> {
  return new Promise((resolve, reject) => {
    const child = fork(WORKER, [JSON.stringify(job)], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let stderr = '';
    let outcome: WorkerMessage | undefined;
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('message', (message: WorkerMessage) => {
      if (message.type === 'step') step();
      else outcome = message;
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (outcome?.type === 'result') resolve(outcome.result as JobResult<J>);
      else if (outcome?.type === 'error') reject(new Error(`${job.kind} ${job.engine}: ${outcome.message}`));
      else reject(new Error(`${job.kind} ${job.engine}: the benchmark process died (${signal ?? `exit code ${code}`})\n${stderr.trim()}`));
    });
  });
}
