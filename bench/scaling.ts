/*
 * Sizing numbers for docs/scaling.md: the Swarm stack (docker/stack.yaml: 1 CPU per replica)
 * with 1, then 2 replicas, each under 16 keep-alive connections POSTing photos from loopback:
 * img/s, p50/p99 latency, and CPU-ms per photo (the replicas' CPU time, from the engine, over
 * the photos answered). Writes bench/results/scaling.md and scaling.json.
 *   npm run build && docker/build-all.sh distroless haproxy && node --import tsx bench/scaling.ts [seconds]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { packagePath } from '../src/paths.js';
import { freePort, photos } from '../test/helpers.js';
import { Load, percentile } from '../test/swarm/load.js';
import { deployStack, ensureSwarm, leaveSwarm, Stack } from '../test/swarm/stack.js';

const SECONDS = Number(process.argv[2] ?? 20);
const CONNECTIONS = 16;
const REPLICAS = [1, 2];
const PHOTOS = photos().map((file) => readFileSync(file));
const RESULTS = packagePath('bench', 'results');

interface Row { replicas: number; imgPerSec: number; p50: number; p99: number; cpuMsPerPhoto: number; cpusUsed: number; failed: number; loadBefore: number }

const createdSwarm = await ensureSwarm();
const stack = new Stack('pytorch-infer-bench');
const port = await freePort();
const rows: Row[] = [];
try {
  await deployStack(stack.name, { PORT: String(port), REPLICAS: String(REPLICAS[0]) });
  for (const replicas of REPLICAS) {
    await stack.scale(replicas);
    await stack.untilServing(replicas, 180);
    const options = { url: `http://127.0.0.1:${port}/v1/predict`, photos: PHOTOS, connections: CONNECTIONS, maxSeconds: SECONDS + 60 };
    // 5 s of load first: connections, the JIT, the replicas' allocators.
    const warmUp = new Load(options);
    warmUp.phase('warm-up');
    await sleep(5000);
    await warmUp.stop();
    const loadBefore = loadavg()[0];
    const cpuBefore = await stack.cpuMs(stack.infer);
    const load = new Load(options);
    load.phase('measure');
    await sleep(SECONDS * 1000);
    const t = (await load.stop()).get('measure')!;
    const cpu = (await stack.cpuMs(stack.infer)) - cpuBefore;
    const seconds = (t.endedAt - t.startedAt) / 1000;
    const row = {
      replicas, imgPerSec: t.ok / seconds, p50: percentile(t.latenciesMs, 50), p99: percentile(t.latenciesMs, 99),
      cpuMsPerPhoto: cpu / t.ok, cpusUsed: cpu / (seconds * 1000), failed: t.requests - t.ok, loadBefore,
    };
    rows.push(row);
    console.log(JSON.stringify(row));
  }
} finally {
  await stack.remove();
  if (createdSwarm) await leaveSwarm();
}

writeFileSync(`${RESULTS}/scaling.json`, `${JSON.stringify({ seconds: SECONDS, connections: CONNECTIONS, rows }, null, 2)}\n`);
const table = [
  '# Swarm stack, 1 and 2 replicas (bench/scaling.ts)',
  '',
  `docker/stack.yaml with the distroless image (jimp decoder), 1 CPU limit per replica, HAProxy in front;`,
  `${CONNECTIONS} keep-alive connections POSTing ${PHOTOS.length} ImageNet photos to /v1/predict from loopback, ${SECONDS} s per row;`,
  `${availableParallelism()} CPUs shared by the replicas, the proxy, the load generator and whatever else runs. CPU-ms/photo: the replicas'`,
  `CPU time over photos answered; CPUs used: all replicas' CPU time over the wall time (each may use 1): below that, they were starved.`,
  '',
  '| replicas | img/s | p50 ms | p99 ms | CPU-ms/photo | CPUs used | failed | load avg before |',
  '|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...rows.map((r) => `| ${r.replicas} | ${r.imgPerSec.toFixed(1)} | ${r.p50.toFixed(0)} | ${r.p99.toFixed(0)} | ${r.cpuMsPerPhoto.toFixed(0)} | ${r.cpusUsed.toFixed(2)} | ${r.failed} | ${r.loadBefore.toFixed(1)} |`),
  '',
].join('\n');
writeFileSync(`${RESULTS}/scaling.md`, table);
console.log(table);
