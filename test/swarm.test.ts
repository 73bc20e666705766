// docker/stack.yaml on a real single-node swarm, under steady load from this machine's loopback:
// replicas scaled up, replaced one by one, killed and scaled down while 16 connections keep
// POSTing photos; every phase is held to zero failed requests.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { packagePath } from '../src/paths.js';
import { freePort, hasDockerEngine, photos } from './helpers.js';
import { Load, percentile, type Tally } from './swarm/load.js';
import { deployStack, docker, ensureSwarm, leaveSwarm, Stack, until } from './swarm/stack.js';

const run = promisify(execFile);
const CONNECTIONS = 16;
const PHOTOS = photos().map((file) => readFileSync(file));

const engine = hasDockerEngine();

// Like the image tests, on .ci/run's main Node line only: the replicas carry their own Node.
const skip = process.env.SKIP_DOCKER_TESTS === '1'
  ? 'SKIP_DOCKER_TESTS=1'
  : !engine && !process.env.CI && 'no Docker engine (scripts/start-dockerd.sh starts one)';

describe('Docker Swarm stack (docker/stack.yaml)', { skip }, () => {
  const stack = new Stack(`pytorch-infer-test-${process.pid}`);
  let createdSwarm = false;
  let port = 0;

  before(async () => {
    assert.ok(engine, 'no Docker engine is reachable: run scripts/start-dockerd.sh');
    await run('bash', [packagePath('docker', 'build-all.sh'), 'distroless', 'haproxy'], { timeout: 40 * 60_000, maxBuffer: 64 * 2 ** 20 });
    createdSwarm = await ensureSwarm();
    port = await freePort();
  });

  after(async () => {
    await stack.remove().catch((error) => console.error(error));
    if (createdSwarm) await leaveSwarm();
  });

  it('refuses to deploy without its images, and names the missing one', async () => {
    const image = `pytorch-infer-missing-${process.pid}`;
    const failed = await deployStack(`${stack.name}-missing`, { PYTORCH_INFER_IMAGE: image }).then(() => undefined, (error) => error);
    assert.ok(failed, 'deploy-stack.sh succeeded without the image');
    assert.match(failed.stderr, new RegExp(`image ${image} is missing`));
    assert.doesNotMatch(await docker('stack', 'ls', '--format', '{{.Name}}'), new RegExp(`${stack.name}-missing`));
  });

  it('deploys replicas non-root, read-only, without capabilities, sized to their CPU quota', { timeout: 4 * 60_000 }, async () => {
    await deployStack(stack.name, { PORT: String(port), REPLICAS: '1' });
    await stack.untilServing(1, 180);
    const [id] = await stack.containers(stack.infer);
    const config = JSON.parse(await docker('inspect', '--format', '{{json .}}', id));
    assert.doesNotMatch(config.Config.User, /^(root|0)?(:|$)/);
    assert.equal(config.HostConfig.ReadonlyRootfs, true);
    assert.deepEqual(config.HostConfig.CapDrop, ['ALL']);
    assert.equal(config.HostConfig.NanoCpus, 1e9, '1 CPU per replica');
    // serve prints its settings first: what it made of the quota (src/cpus.ts) on a 2-core host.
    const settings = (await docker('logs', id)).split('\n')[0];
    assert.match(settings, / lanes=1 /);
    assert.match(settings, / decodeWorkers=1 /);
  });

  it('answers every request while replicas are added, replaced, killed and removed', { timeout: 8 * 60_000 }, async () => {
    const load = new Load({ url: `http://127.0.0.1:${port}/v1/predict`, photos: PHOTOS, connections: CONNECTIONS, maxSeconds: 6 * 60 });
    const retries: Record<string, number> = {};
    const phase = async (name: string, action: () => Promise<unknown>) => {
      const before = (await stack.backend()).retries;
      load.phase(name);
      await action();
      retries[name] = (await stack.backend()).retries - before;
    };
    try {
      await phase('steady, 1 replica', () => sleep(5000));
      await phase('scale 1 → 3', async () => {
        await stack.scale(3);
        await stack.untilServing(3);
        await sleep(2000);
      });
      await phase('rolling update', async () => {
        await docker('service', 'update', '--force', '--detach', '--no-resolve-image', stack.infer);
        await until('the rolling update completed', 240, async () =>
          (await docker('service', 'inspect', '--format', '{{.UpdateStatus.State}}', stack.infer)) === 'completed');
        await stack.untilServing(3);
      });
      await phase('docker kill of a replica', async () => {
        const [victim] = await stack.containers(stack.infer);
        await docker('kill', victim);
        await until('the killed replica replaced', 120, async () => !(await stack.containers(stack.infer)).includes(victim));
        await stack.untilServing(3);
      });
      await phase('scale 3 → 1', async () => {
        await stack.scale(1);
        await stack.untilServing(1, 90);
        await sleep(2000);
      });
      assert.ok(!load.expired, 'the load ran out of time before the last phase ended');
    } finally {
      await load.stop();
    }
    const tallies = load.tallies;
    console.log(table(tallies, retries));
    if ([...tallies.values()].some((t) => t.requests > t.ok)) {
      console.log(`HAProxy's log (errors and retries only):\n${await docker('service', 'logs', '--raw', '--tail', '60', stack.proxy)}`);
    }

    // Every phase ran under load: 16 requests in flight from its start to its end.
    for (const [name, t] of tallies) {
      assert.ok(t.requests > 0, `${name}: no request`);
      assert.deepEqual(t.failures, {}, `${name}: ${t.non2xx} non-2xx, ${t.socketErrors} socket errors of ${t.requests}`);
    }
    // A replica gets traffic only once it is ready: while new ones start, nothing needs a retry.
    assert.equal(retries['scale 1 → 3'], 0, 'requests were retried while replicas started: one got traffic before it was ready');
    // The killed replica had requests in flight (16 connections over 3): they were retried, and answered.
    assert.ok(retries['docker kill of a replica'] > 0, 'no request was in flight on the killed replica');
  });

  it('answers 503 with a JSON body when no replica is up', async () => {
    await stack.scale(0);
    await until('no replica left', 90, async () => (await stack.containers(stack.infer)).length === 0 && (await stack.backend()).up === 0);
    const res = await fetch(`http://127.0.0.1:${port}/v1/predict`, { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: PHOTOS[0] });
    assert.equal(res.status, 503);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    assert.match((await res.json()).error, /no replica/);
  });
});

function table(tallies: Map<string, Tally>, retries: Record<string, number>): string {
  const rows = [...tallies].map(([name, t]) => {
    const seconds = (t.endedAt - t.startedAt) / 1000;
    return `| ${name} | ${seconds.toFixed(0)} | ${t.requests} | ${t.ok} | ${t.non2xx} | ${t.socketErrors} | ${retries[name] ?? 0} | ${(t.ok / seconds).toFixed(1)} | ${percentile(t.latenciesMs, 50).toFixed(0)} | ${percentile(t.latenciesMs, 99).toFixed(0)} |`;
  });
  return [
    `Swarm stack under load: ${CONNECTIONS} keep-alive connections, POST /v1/predict, ${PHOTOS.length} photos`,
    '| phase | s | requests | 2xx | non-2xx | socket errors | proxy retries | img/s | p50 ms | p99 ms |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
  ].join('\n');
}

