// Entry point of a benchmark child process: runs the job given as JSON in argv[2] and reports
// over the IPC channel (see child.ts).
import { type Job, runJob } from './jobs.js';
import type { WorkerMessage } from './child.js';

const send = (message: WorkerMessage) => new Promise<void>((resolve) => process.send!(message, () => resolve()));

try {
  const job = JSON.parse(process.argv[2]) as Job;
  const result = await runJob(job, () => void send({ type: 'step' }));
  await send({ type: 'result', result });
} catch (err) {
  await send({ type: 'error', message: (err as Error).message });
  process.exitCode = 1;
}
process.disconnect();
