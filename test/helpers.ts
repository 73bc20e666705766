// Shared by the tests: the committed photos and what the reference pipeline says about them, a
// Docker engine probe, free ports, and `serve` in a child process.
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { packagePath } from '../src/paths.js';

export const PHOTOS_DIR = packagePath('test', 'fixtures', 'imagenet-sample-100');
export const SAMPLES_DIR = packagePath('samples');

const synsets = readFileSync(packagePath('test', 'fixtures', 'imagenet-sample-100', 'imagenet-synsets.txt'), 'utf8').trim().split('\n');

/** ImageNet class index of a photo named like n01530575_brambling.JPEG. */
export function trueIndex(file: string): number {
  const index = synsets.indexOf(file.split('/').pop()!.split('_')[0]);
  if (index < 0) throw new Error(`no synset in file name ${file}`);
  return index;
}

export const photos = (dir = PHOTOS_DIR) => readdirSync(dir).filter((f) => /\.jpe?g$/i.test(f)).sort().map((f) => `${dir}/${f}`);

/** Whether a Docker engine answers (the image and swarm tests need one). */
export function hasDockerEngine(): boolean {
  try {
    execFileSync('docker', ['info'], { stdio: 'ignore', timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** `node dist/cli.js <args>` (a serve command line) in a child process, once it listens; stop() ends it with SIGTERM and gives its exit code. */
export async function startServe(args: string[], env: Record<string, string> = {}): Promise<{ base: string; pid: number; stop(): Promise<number | null> }> {
  const child = spawn(process.execPath, [packagePath('dist', 'cli.js'), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  const exited = once(child, 'exit');
  while (!/listening on \S+/.test(stdout)) {
    if (child.exitCode !== null) throw new Error(`serve exited before listening: ${stdout}`);
    await sleep(50);
  }
  return {
    base: stdout.match(/listening on (\S+)/)![1],
    pid: child.pid!,
    async stop() {
      child.kill('SIGTERM');
      const [code] = await exited;
      return code as number | null;
    },
  };
}
