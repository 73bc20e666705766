// docker/stack.yaml on the real engine, for test/swarm.test.ts and bench/scaling.ts: a
// single-node swarm (created if need be, left as found), the stack deployed under a name,
// replicas counted, HAProxy's own counters read, everything removed at the end.
import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { packagePath } from '../../src/paths.js';

const run = promisify(execFile);

export async function docker(...args: string[]): Promise<string> {
  try {
    return (await run('docker', args, { maxBuffer: 64 * 2 ** 20, timeout: 120_000 })).stdout.trim();
  } catch (error) {
    const { stderr } = error as { stderr?: string };
    throw new Error(`docker ${args.join(' ')}: ${stderr?.trim() || (error as Error).message}`);
  }
}

export async function until<T>(what: string, seconds: number, probe: () => Promise<T | undefined | false>): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`not within ${seconds} s: ${what}`);
    await sleep(250);
  }
}

/** Joins a single-node swarm if the engine is in none; returns whether it did (leaveSwarm undoes it). */
export async function ensureSwarm(): Promise<boolean> {
  const state = await docker('info', '--format', '{{.Swarm.LocalNodeState}}');
  if (state === 'active') return false;
  if (state !== 'inactive') throw new Error(`the engine's swarm is '${state}'; expected active or inactive`);
  await docker('swarm', 'init', '--advertise-addr', '127.0.0.1');
  return true;
}

export async function leaveSwarm(): Promise<void> {
  await docker('swarm', 'leave', '--force');
}

export function deployStack(name: string, env: Record<string, string>) {
  return run('bash', [packagePath('docker', 'deploy-stack.sh'), name], { env: { ...process.env, ...env } });
}

export class Stack {
  readonly infer: string;
  readonly proxy: string;

  constructor(readonly name: string) {
    this.infer = `${name}_infer`;
    this.proxy = `${name}_proxy`;
  }

  /** Running containers of a service (this node: the swarm has one). */
  async containers(service: string, health?: 'healthy'): Promise<string[]> {
    const filters = ['--filter', `label=com.docker.swarm.service.name=${service}`, ...(health ? ['--filter', `health=${health}`] : [])];
    return (await docker('ps', '-q', ...filters)).split('\n').filter(Boolean);
  }

  scale(replicas: number): Promise<string> {
    return docker('service', 'scale', '--detach', `${this.infer}=${replicas}`);
  }

  /** HAProxy's CSV statistics (docker/haproxy/haproxy.cfg's stats frontend, inside the proxy's container). */
  private async proxyStats(): Promise<Record<string, string>[]> {
    const [id] = await this.containers(this.proxy);
    if (!id) throw new Error(`no container of ${this.proxy}`);
    const csv = await docker('exec', id, 'bash', '-c',
      `exec 3<>/dev/tcp/127.0.0.1/8404 && printf 'GET /stats;csv HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3`);
    const lines = csv.split(/\r?\n/).filter((l) => l.startsWith('#') || l.includes(','));
    const header = lines.find((l) => l.startsWith('# '))!.slice(2).split(',');
    return lines.filter((l) => !l.startsWith('#')).map((l) => Object.fromEntries(l.split(',').map((v, i) => [header[i], v])));
  }

  /** Replicas HAProxy has UP, and how many times its backend retried a request. */
  async backend(): Promise<{ up: number; retries: number }> {
    const rows = (await this.proxyStats()).filter((r) => r.pxname === 'infer');
    const total = rows.find((r) => r.svname === 'BACKEND')!;
    return { up: rows.filter((r) => r.svname !== 'BACKEND' && r.status === 'UP').length, retries: Number(total.wretr) };
  }

  /** Waits until `replicas` tasks are healthy and HAProxy sends traffic to exactly that many. */
  async untilServing(replicas: number, seconds = 120): Promise<void> {
    await until(`${replicas} replicas of ${this.infer} healthy and UP in HAProxy`, seconds, async () =>
      (await this.containers(this.infer, 'healthy')).length === replicas &&
      (await this.containers(this.infer)).length === replicas &&
      (await this.backend()).up === replicas);
  }

  /** CPU time (ms) the service's running containers have used, from the engine's stats. */
  async cpuMs(service: string): Promise<number> {
    const ids = await this.containers(service);
    const usage = await Promise.all(ids.map(async (id) => {
      const stats = JSON.parse(await engineGet(`/containers/${id}/stats?stream=false`));
      return Number(stats.cpu_stats.cpu_usage.total_usage) / 1e6;
    }));
    return usage.reduce((a, b) => a + b, 0);
  }

  async remove(): Promise<void> {
    await docker('stack', 'rm', this.name);
    await until(`stack ${this.name} removed`, 90, async () =>
      !(await docker('ps', '-aq', '--filter', `label=com.docker.stack.namespace=${this.name}`)) &&
      !(await docker('network', 'ls', '-q', '--filter', `label=com.docker.stack.namespace=${this.name}`)));
  }
}

/** A GET on the engine's API socket (the CLI prints CPU usage only as a rounded percentage). */
function engineGet(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    request({ socketPath: '/var/run/docker.sock', path }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk)).on('end', () => resolve(body));
    }).on('error', reject).end();
  });
}
