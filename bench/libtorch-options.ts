// What LibTorch leaves on the table against ONNX Runtime (issue 9, item 4): every load option,
// executor setting, OpenMP policy and thread layout of the native addon, side by side with
// ONNX Runtime in the same run. Each configuration is a process of its own (thread counts,
// executor settings and OpenMP's environment are process-wide), all loaded at once per group and
// driven round by round in turn, so the machine's noise spreads over every row alike; each
// row reports medians over the rounds and its median per-round ratio to the ONNX Runtime row of
// the same group, threads and batch.
//   npm run build && node --import tsx bench/libtorch-options.ts [--rounds 9] [--iterations 16] [--group A,B,C,D]
// Writes bench/results/libtorch-options.md and .json.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Backend } from '../src/backend.js';
import { native } from '../src/native.js';
import { packagePath } from '../src/paths.js';
import type { TorchLoadOptions } from '../src/backends/torchscript.js';

interface Config {
  readonly id: string;
  readonly label: string;
  readonly engine: 'torchscript' | 'onnx';
  readonly threads: number;
  readonly torch?: TorchLoadOptions & { optimize?: boolean };
  readonly jit?: { profilingExecutor?: boolean; tensorExprFuser?: boolean };
  readonly env?: Readonly<Record<string, string>>;
  /** CPU list for taskset. */
  readonly cpus?: string;
  /** Forwards kept in flight at once (2 with lanes: 2 lanes of 1 thread each). */
  readonly inflight?: number;
}

interface Group {
  readonly id: string;
  readonly title: string;
  readonly note: string;
  readonly batches: readonly number[];
  /** Also measure CPU per forward with this idle gap between forwards (OpenMP spinning). */
  readonly gapMs?: number;
  readonly configs: readonly Config[];
}

const onnx = (threads: number, inflight?: number): Config => ({
  id: `onnx-${threads}t${inflight ? `-x${inflight}` : ''}`,
  label: `ONNX Runtime, ${threads} thread${threads > 1 ? 's' : ''}${inflight ? `, ${inflight} runs at once` : ''}`,
  engine: 'onnx',
  threads,
  inflight,
});
const torch = (id: string, label: string, threads: number, rest: Partial<Config> = {}): Config => ({
  id,
  label,
  engine: 'torchscript',
  threads,
  ...rest,
});

const GROUPS: readonly Group[] = [
  {
    id: 'A',
    title: 'Graph modes and memory format, 1 thread',
    note: 'plain = torch::jit::load; frozen = torch::jit::freeze; mkldnn = torch::jit::optimize_for_inference (the default before this change; traced_model.pt has no methods besides forward, so `other_methods` has nothing to keep); fused = frozen + oneDNN Graph (LLGA) fusion, one executor per input shape (the new default); +CL = weights and input in channels_last.',
    batches: [1, 4],
    configs: [
      onnx(1),
      torch('plain', 'plain', 1, { torch: { mode: 'plain' } }),
      torch('frozen', 'frozen', 1, { torch: { mode: 'frozen' } }),
      torch('mkldnn', 'mkldnn (optimize_for_inference, old default)', 1, { torch: { mode: 'mkldnn' } }),
      torch('fused', 'fused (new default)', 1, { torch: { mode: 'fused' } }),
      torch('plain-cl', 'plain + channels_last', 1, { torch: { mode: 'plain', channelsLast: true } }),
      torch('frozen-cl', 'frozen + channels_last', 1, { torch: { mode: 'frozen', channelsLast: true } }),
      torch('mkldnn-cl', 'mkldnn + channels_last', 1, { torch: { mode: 'mkldnn', channelsLast: true } }),
      torch('fused-cl', 'fused + channels_last', 1, { torch: { mode: 'fused', channelsLast: true } }),
    ],
  },
  {
    id: 'B',
    title: 'Executor, fuser and grad-mode settings, 1 thread',
    note: 'legacy executor = profiling executor off (torch::jit::getProfilingMode/getExecutorMode = false); no executor optimize = torch::jit::setGraphExecutorOptimize(false) around forward; NNC = the TensorExpr fuser on CPU (overrideCanFuseOnCPU + setTensorExprFuserEnabled; the torch 2.13 CPU wheel has no LLVM, so NNC runs its IR interpreter); NoGradGuard instead of InferenceMode.',
    batches: [1, 4],
    configs: [
      onnx(1),
      torch('fused', 'fused (new default)', 1, { torch: { mode: 'fused' } }),
      torch('mkldnn', 'mkldnn (old default)', 1, { torch: { mode: 'mkldnn' } }),
      torch('mkldnn-legacy', 'mkldnn, legacy executor', 1, { torch: { mode: 'mkldnn' }, jit: { profilingExecutor: false } }),
      torch('fused-legacy', 'fused, legacy executor (no fusion: LLGA needs profiling)', 1, { torch: { mode: 'fused' }, jit: { profilingExecutor: false } }),
      torch('mkldnn-noopt', 'mkldnn, no executor optimize', 1, { torch: { mode: 'mkldnn', executorOptimize: false } }),
      torch('fused-noopt', 'fused, no executor optimize (no fusion)', 1, { torch: { mode: 'fused', executorOptimize: false } }),
      torch('frozen-nnc', 'frozen + NNC fuser', 1, { torch: { mode: 'frozen' }, jit: { tensorExprFuser: true } }),
      torch('fused-nograd', 'fused, NoGradGuard', 1, { torch: { mode: 'fused', noGrad: true } }),
      torch('mkldnn-nograd', 'mkldnn, NoGradGuard', 1, { torch: { mode: 'mkldnn', noGrad: true } }),
    ],
  },
  {
    id: 'C',
    title: 'OpenMP wait policy and thread placement, 2 threads',
    note: 'LibTorch\'s wheel uses GNU OpenMP (libgomp): after a parallel region its threads spin for GOMP_SPINCOUNT before sleeping (libgomp\'s default without either variable: 300000 spins; OMP_WAIT_POLICY=passive: none, the addon\'s default now unless either variable is set; active: spin on). "gap CPU" = CPU ms per batch-1 forward when forwards are spaced by an idle gap, as in a lightly loaded server: CPU burnt spinning counts against it. Placement: OMP_PROC_BIND=close pins the OpenMP threads; taskset pins the whole process.',
    batches: [1, 4],
    gapMs: 3,
    configs: [
      onnx(2),
      torch('mkldnn-2t-spin', 'mkldnn, libgomp default spin (old default)', 2, { torch: { mode: 'mkldnn' }, env: { GOMP_SPINCOUNT: '300000' } }),
      torch('mkldnn-2t', 'mkldnn, passive', 2, { torch: { mode: 'mkldnn' } }),
      torch('fused-2t-spin', 'fused, libgomp default spin (GOMP_SPINCOUNT=300000)', 2, { torch: { mode: 'fused' }, env: { GOMP_SPINCOUNT: '300000' } }),
      torch('fused-2t', 'fused, passive (new default)', 2, { torch: { mode: 'fused' } }),
      torch('fused-2t-spin10k', 'fused, GOMP_SPINCOUNT=10000', 2, { torch: { mode: 'fused' }, env: { GOMP_SPINCOUNT: '10000' } }),
      torch('fused-2t-spin1k', 'fused, GOMP_SPINCOUNT=1000', 2, { torch: { mode: 'fused' }, env: { GOMP_SPINCOUNT: '1000' } }),
      torch('fused-2t-bind', 'fused, passive, OMP_PROC_BIND=close', 2, { torch: { mode: 'fused' }, env: { OMP_PROC_BIND: 'close', OMP_PLACES: 'cores' } }),
      torch('fused-2t-taskset', 'fused, passive, taskset 0,1', 2, { torch: { mode: 'fused' }, cpus: '0,1' }),
    ],
  },
  {
    id: 'D',
    title: 'Two cores: one forward on 2 threads, or two 1-thread forwards at once (lanes)',
    note: 'img/s and CPU ms/img with every core busy: x2 = 2 forwards kept in flight; LibTorch lanes: 2 = two inference threads of 1 intra-op thread each; ONNX Runtime x2 = 2 lanes (a session and worker thread each) of 1 thread. Per-core cost = CPU ms/img.',
    batches: [1, 4],
    configs: [
      onnx(2),
      onnx(1, 2),
      torch('fused-2t', 'fused, 2 threads, 1 lane', 2, { torch: { mode: 'fused' } }),
      torch('fused-1t-lanes2', 'fused, 1 thread, 2 lanes, x2', 1, { torch: { mode: 'fused', lanes: 2 }, inflight: 2 }),
      torch('fused-1t-taskset', 'fused, 1 thread, taskset 1 (one core, for reference)', 1, { torch: { mode: 'fused' }, cpus: '1' }),
      torch('mkldnn-1t-lanes2', 'mkldnn, 1 thread, 2 lanes, x2', 1, { torch: { mode: 'mkldnn', lanes: 2 }, inflight: 2 }),
    ],
  },
];

// ---- child: one configuration ---------------------------------------------------------------

type ToChild = { type: 'round'; batch: number; iterations: number; gapMs: number } | { type: 'exit' };
interface RoundResult {
  wallMsPerImg: number;
  cpuMsPerImg: number;
  /** The synchronous part of forward(): argument checks and the input copy. */
  callMs: number;
}
type FromChild =
  | { type: 'ready'; runtime: string; loadMs: number; firstForwardsMs: number[]; rssMb: number }
  | { type: 'round'; result: RoundResult }
  | { type: 'error'; message: string };

// Forwards per batch size before timing: the profiling executor profiles the first run of a
// shape and optimises on the second; oneDNN Graph compiles its partitions then.
const WARMUP = 6;

async function child(config: Config, batches: readonly number[]): Promise<void> {
  const send = (m: FromChild) => new Promise<void>((resolve) => process.send!(m, () => resolve()));
  try {
    if (config.jit) native().configureJit(config.jit);
    const start = performance.now();
    let backend: Backend;
    if (config.engine === 'onnx') {
      const { OnnxBackend } = await import('../src/backends/onnx.js');
      // Runs at once need lanes of their own (one session and worker each).
      backend = await OnnxBackend.load({ threads: config.threads, lanes: config.inflight ?? 1 });
    } else {
      const { TorchScriptBackend } = await import('../src/backends/torchscript.js');
      const { optimize, ...rest } = config.torch ?? {};
      backend = await TorchScriptBackend.load({ threads: config.threads, optimize, torch: rest });
    }
    const loadMs = performance.now() - start;
    const inputs = new Map(batches.map((b) => [b, { data: new Float32Array(b * 150528).map(() => Math.random() * 4 - 2), shape: [b, 3, 224, 224] }]));
    // The forwards right after load (the load's own warm-up probe came first), at batch 1.
    const firstForwardsMs = [];
    for (let i = 0; i < 8; i++) {
      const t = performance.now();
      await backend.forward(inputs.get(batches[0])!);
      firstForwardsMs.push(performance.now() - t);
    }
    for (const input of inputs.values()) for (let i = 0; i < WARMUP; i++) await backend.forward(input);
    await send({ type: 'ready', runtime: backend.runtime, loadMs, firstForwardsMs, rssMb: process.memoryUsage().rss / 2 ** 20 });
    process.on('message', async (m: ToChild) => {
      if (m.type === 'exit') {
        await backend.close();
        process.disconnect();
        return;
      }
      const input = inputs.get(m.batch)!;
      const inflight = config.inflight ?? 1;
      let wall = 0;
      let call = 0;
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const lane = async (n: number) => {
        for (let i = 0; i < n; i++) {
          const t = performance.now();
          const done = backend.forward(input);
          call += performance.now() - t;
          await done;
          wall += performance.now() - t;
          if (m.gapMs > 0) await sleep(m.gapMs);
        }
      };
      await Promise.all(Array.from({ length: inflight }, () => lane(Math.ceil(m.iterations / inflight))));
      const elapsed = performance.now() - t0;
      const used = process.cpuUsage(cpu0);
      const forwards = inflight * Math.ceil(m.iterations / inflight);
      const images = forwards * m.batch;
      // In flight > 1: wall time per image is elapsed / images (throughput); else the forwards' own time.
      const wallMsPerImg = inflight > 1 ? elapsed / images : wall / images;
      await send({ type: 'round', result: { wallMsPerImg, cpuMsPerImg: (used.user + used.system) / 1000 / images, callMs: call / forwards } });
    });
  } catch (err) {
    await send({ type: 'error', message: (err as Error).stack ?? String(err) });
    process.disconnect();
  }
}

// ---- parent: groups, rounds, report --------------------------------------------------------

interface Row {
  group: string;
  config: Config;
  batch: number;
  gap: boolean;
  wallMsPerImg: number;
  cpuMsPerImg: number;
  callMs: number;
  /** Median over rounds of this row's wall (and CPU) per image ÷ the ONNX Runtime row's in the same round. */
  wallRatio?: number;
  cpuRatio?: number;
  rounds: RoundResult[];
}

interface Started {
  config: Config;
  proc: ChildProcess;
  ready: Extract<FromChild, { type: 'ready' }>;
}

const SELF = fileURLToPath(import.meta.url);
const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function start(config: Config, batches: readonly number[]): Promise<Started> {
  const args = [...process.execArgv, SELF, 'child', JSON.stringify({ config, batches })];
  const [command, argv] = config.cpus ? ['taskset', ['-c', config.cpus, process.execPath, ...args]] : [process.execPath, args];
  const proc = spawn(command, argv, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, ...config.env } });
  return new Promise((resolve, reject) => {
    proc.once('message', (m: FromChild) => (m.type === 'ready' ? resolve({ config, proc, ready: m }) : reject(new Error(`${config.id}: ${(m as { message?: string }).message}`))));
    proc.once('exit', (code) => reject(new Error(`${config.id}: exited with ${code} before it was ready`)));
  });
}

function round(s: Started, batch: number, iterations: number, gapMs: number): Promise<RoundResult> {
  return new Promise((resolve, reject) => {
    s.proc.once('message', (m: FromChild) => (m.type === 'round' ? resolve(m.result) : reject(new Error(`${s.config.id}: ${(m as { message?: string }).message}`))));
    s.proc.send({ type: 'round', batch, iterations, gapMs } satisfies ToChild);
  });
}

async function runGroup(group: Group, rounds: number, iterations: number) {
  const started: Started[] = [];
  // One at a time: loads compete for the same two cores otherwise.
  for (const config of group.configs) {
    process.stderr.write(`  ${group.id}: loading ${config.id}\n`);
    started.push(await start(config, group.batches));
  }
  const series = new Map<string, RoundResult[]>();
  const key = (id: string, batch: number, gap: boolean) => `${id}|${batch}|${gap}`;
  const plan = [...group.batches.map((b) => ({ batch: b, gap: false })), ...(group.gapMs ? [{ batch: 1, gap: true }] : [])];
  for (let r = 0; r < rounds; r++) {
    process.stderr.write(`  ${group.id}: round ${r + 1}/${rounds}\n`);
    // A different starting configuration each round.
    const order = started.map((_, i) => started[(i + r) % started.length]);
    for (const { batch, gap } of plan) {
      for (const s of order) {
        // Batch 4 forwards take ~4× as long: fewer of them keep each row's time alike.
        const n = gap ? iterations : Math.max(4, Math.round(iterations / Math.sqrt(batch)));
        const result = await round(s, batch, n, gap ? group.gapMs! : 0);
        const k = key(s.config.id, batch, gap);
        series.set(k, [...(series.get(k) ?? []), result]);
      }
    }
  }
  for (const s of started) s.proc.send({ type: 'exit' } satisfies ToChild);
  const rows: Row[] = [];
  for (const s of started) {
    for (const { batch, gap } of plan) {
      const results = series.get(key(s.config.id, batch, gap))!;
      const reference = started.find((o) => o.config.engine === 'onnx' && o.config.threads === s.config.threads && !o.config.inflight) ?? started.find((o) => o.config.engine === 'onnx')!;
      const ref = series.get(key(reference.config.id, batch, gap))!;
      const ratio = (f: (x: RoundResult) => number) => median(results.map((x, i) => f(x) / f(ref[i])));
      rows.push({
        group: group.id,
        config: s.config,
        batch,
        gap,
        wallMsPerImg: median(results.map((x) => x.wallMsPerImg)),
        cpuMsPerImg: median(results.map((x) => x.cpuMsPerImg)),
        callMs: median(results.map((x) => x.callMs)),
        wallRatio: ratio((x) => x.wallMsPerImg),
        cpuRatio: ratio((x) => x.cpuMsPerImg),
        rounds: results,
      });
    }
  }
  return { rows, processes: started.map((s) => ({ id: s.config.id, ...s.ready })) };
}

const f = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '—');

function markdown(date: string, results: Awaited<ReturnType<typeof runGroup>>[], rounds: number, iterations: number): string {
  const lines = [
    `# LibTorch options against ONNX Runtime, ${date.slice(0, 10)}`,
    '',
    `${cpus()[0]?.model.trim()}, ${cpus().length} CPUs (shared with other work: noisy), Node ${process.version}; LibTorch ${native().libtorchVersion}; model/traced_model.pt vs model/mobilenet_v2.onnx (graph optimisation all), random input.`,
    `Made by \`node --import tsx bench/libtorch-options.ts\`: every configuration a process of its own, through the addon (TorchScriptBackend.load) or OnnxBackend; all processes of a group loaded at once and driven in turn, ${rounds} rounds of ${iterations} forwards (batch 4: ${Math.max(4, Math.round(iterations / 2))}) after ${WARMUP} warm-up forwards per batch size.`,
    'ms/img = median over rounds (wall time of the forwards ÷ images; with 2 in flight: elapsed ÷ images); CPU ms/img = process.cpuUsage of the whole process ÷ images; ÷ ONNX = median of the per-round ratios to the ONNX Runtime row of the same group, thread count and batch; call ms = the synchronous part of forward() on the event loop (checks and the input copy).',
    '',
  ];
  for (const [i, group] of GROUPS.filter((g) => results.some((r) => r.rows.some((row) => row.group === g.id))).entries()) {
    const { rows, processes } = results.find((r) => r.rows[0]?.group === group.id)!;
    lines.push(`## ${group.id}. ${group.title}`, '', group.note, '');
    lines.push('| configuration | threads | batch | ms/img | ÷ ONNX | CPU ms/img | CPU ÷ ONNX | img/s | call ms |', '|---|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const r of rows.filter((x) => !x.gap)) {
      lines.push(`| ${r.config.label} | ${r.config.threads} | ${r.batch} | ${f(r.wallMsPerImg)} | ${f(r.wallRatio!)}× | ${f(r.cpuMsPerImg)} | ${f(r.cpuRatio!)}× | ${f(1000 / r.wallMsPerImg, 0)} | ${f(r.callMs, 3)} |`);
    }
    const gaps = rows.filter((x) => x.gap);
    if (gaps.length) {
      lines.push('', `With ${group.gapMs} ms idle between batch-1 forwards:`, '', '| configuration | forward ms | gap CPU ms per forward | ÷ ONNX |', '|---|---:|---:|---:|');
      for (const r of gaps) lines.push(`| ${r.config.label} | ${f(r.wallMsPerImg)} | ${f(r.cpuMsPerImg)} | ${f(r.cpuRatio!)}× |`);
    }
    lines.push('', 'Load and the first forwards after it (batch ' + group.batches[0] + ', ms; load includes the backend\'s own warm-up probe):', '', '| configuration | load ms | forwards 1–8 ms | RSS MB after warm-up |', '|---|---:|---|---:|');
    for (const p of processes) {
      const config = group.configs.find((c) => c.id === p.id)!;
      lines.push(`| ${config.label} | ${f(p.loadMs, 0)} | ${p.firstForwardsMs.map((x) => f(x, 1)).join(', ')} | ${f(p.rssMb, 0)} |`);
    }
    lines.push('');
    void i;
  }
  return lines.join('\n');
}

async function main() {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '9' },
      iterations: { type: 'string', default: '16' },
      group: { type: 'string', default: GROUPS.map((g) => g.id).join(',') },
      out: { type: 'string', default: packagePath('bench', 'results', 'libtorch-options') },
    },
  });
  const rounds = Number(values.rounds);
  const iterations = Number(values.iterations);
  const wanted = values.group!.split(',');
  const date = new Date().toISOString();
  const results = [];
  for (const group of GROUPS.filter((g) => wanted.includes(g.id))) {
    process.stderr.write(`group ${group.id}: ${group.title}\n`);
    results.push(await runGroup(group, rounds, iterations));
  }
  const md = markdown(date, results, rounds, iterations);
  console.log(md);
  mkdirSync(packagePath('bench', 'results'), { recursive: true });
  writeFileSync(`${values.out}.md`, md + '\n');
  writeFileSync(`${values.out}.json`, JSON.stringify({ date, rounds, iterations, warmup: WARMUP, groups: GROUPS, results }, null, 1) + '\n');
}

if (process.argv[2] === 'child') {
  const { config, batches } = JSON.parse(process.argv[3]) as { config: Config; batches: number[] };
  await child(config, batches);
} else {
  await main();
}
