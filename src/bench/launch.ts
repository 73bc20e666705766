// A classifier program started the way a user starts it (a new process, photos as arguments),
// timed from the outside by when each photo's answer appears on its stdout.
import { spawn } from 'node:child_process';
import { peakRssMb } from './memory.js';

export interface Launch {
  /** Milliseconds from spawn to each photo's complete top-k block on stdout. */
  readonly answers: readonly number[];
  /** High-water mark of the process as last seen while it answered. */
  readonly peakRssMb?: number;
}

/**
 * Runs `command args…`, which must print one block of 1 + `top` lines per photo (the file name,
 * then its classes) and exit 0 — as `pytorch-infer predict` and scripts/export/reference.py do.
 */
export function launch(command: string, args: readonly string[], top: number): Promise<Launch> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const answers: number[] = [];
    let lines = 0;
    let peak: number | undefined;
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      const now = performance.now();
      lines += chunk.split('\n').length - 1;
      while (lines >= (answers.length + 1) * (1 + top)) {
        answers.push(now - start);
        peak = peakRssMb(child.pid) ?? peak;
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0 && answers.length > 0) resolve({ answers, peakRssMb: peak });
      else reject(new Error(`${command} ${args.join(' ')} failed (exit code ${code}): ${stderr.trim() || 'no answer on stdout'}`));
    });
  });
}
