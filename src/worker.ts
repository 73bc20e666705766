import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts the worker module `name` (a sibling of `base`, without extension). From dist/ it is
 * plain .js. Under tsx (tests, bench scripts) it is .ts, and tsx registers its loader only on
 * the main thread, so the worker first registers it itself.
 */
export function startWorker(base: string, name: string, options: WorkerOptions = {}): Worker {
  if (!base.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, base), options);
  const url = new URL(`./${name}.ts`, base).href;
  const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(url)}); })`;
  return new Worker(bootstrap, { ...options, eval: true });
}
