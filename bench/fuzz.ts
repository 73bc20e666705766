/*
 * Mutation fuzzing of the decoders through the real service and the real CLI. Seeded mutations
 * (bit flips, truncation, header-field edits, spliced files, inserted runs; bench/fuzz/mutate.ts)
 * of every format fixture and sample photo go to `serve` (one process per decoder) from
 * concurrent clients, each input by one of raw body, multipart, base64 JSON and v2 BYTES, and to
 * `predict` as a folder. Every answer must be 200, or a 4xx whose JSON error names the problem:
 * no 5xx, no answer slower than the service's timeout, the server alive after, its RSS within
 * 10 % of where it was after the first 1000 inputs, each measured once the service has been idle 10 s (and the start's RSS shown beside it). PIL's verdict on the same inputs (bench/fuzz/pil_verdicts.py
 * in the bench venv) is the reference for which ones a decoder should accept.
 * Writes bench/results/fuzz.{md,json}. --test-fixture writes PIL's verdicts on the inputs
 * test/fuzz.test.ts sends (the first 1000 of seed 1) to test/fixtures/fuzz-pil-verdicts.json, and
 * nothing else.
 *   npm run build && node --import tsx bench/fuzz.ts [--inputs 10000] [--cli-inputs 2000] [--concurrency 8] [--seed 1]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { DECODER_NAMES, DEFAULT_MAX_PIXELS, type DecoderName } from '../src/image/types.js';
import { packagePath } from '../src/paths.js';
import { summarize } from '../src/bench/stats.js';
import { startService } from './http/server.js';
import { fuzzSeeds, inputsDigest, MUTATION_KINDS, TEST_FIXTURE, TEST_FIXTURE_INPUTS, TEST_FIXTURE_SEED } from './fuzz/mutate.js';
import { type CliOutcome, fuzzCli, fuzzInputs, fuzzService, IDLE_MS, idleReclaimed, idleRss, pilVerdicts, rssOf, type ServiceOutcome } from './fuzz/run.js';
import { TRANSPORTS } from './fuzz/send.js';
import { benchPython } from './python-service/venv.js';

const { values: args } = parseArgs({
  options: {
    inputs: { type: 'string', default: '10000' },
    'cli-inputs': { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '8' },
    seed: { type: 'string', default: '1' },
    'timeout-ms': { type: 'string', default: '30000' },
    'test-fixture': { type: 'boolean', default: false },
  },
});
const [INPUTS, CLI_INPUTS, CONCURRENCY, SEED, TIMEOUT_MS] = [args.inputs, args['cli-inputs'], args.concurrency, args.seed, args['timeout-ms']].map(Number);
const CLI = packagePath('dist', 'cli.js');
if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
const MODEL = 'fuzz';
const WARM_UP = Math.min(1000, Math.floor(INPUTS / 10));
const GOOD = readFileSync(packagePath('samples', 'n01530575_brambling.JPEG'));
const log = (line: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

const seeds = fuzzSeeds();
const inputs = fuzzInputs(seeds, SEED, INPUTS);
const cliInputs = inputs.slice(0, CLI_INPUTS);
log(`${inputs.length} inputs from ${seeds.length} seed files (seed ${SEED}), load average ${loadavg()[0].toFixed(1)}`);

const python = await benchPython(log);
const pillow = 'python' in python ? python.versions.pillow : undefined;
if (args['test-fixture']) {
  if (!('python' in python)) throw new Error(python.missing);
  const testInputs = fuzzInputs(seeds, TEST_FIXTURE_SEED, TEST_FIXTURE_INPUTS);
  const verdicts = await pilVerdicts(python.python, testInputs);
  writeFileSync(TEST_FIXTURE, `${JSON.stringify({ pillow, seed: TEST_FIXTURE_SEED, inputsSha256: inputsDigest(testInputs), ok: verdicts.map((v) => (v.ok ? v.size : 0)) })}\n`);
  log(`wrote ${TEST_FIXTURE}`);
  process.exit(0);
}
const pil = 'python' in python ? await pilVerdicts(python.python, inputs) : undefined;
log(pil ? `PIL ${pillow}: accepts ${pil.filter((v) => v.ok).length}` : `no PIL verdicts: ${'missing' in python ? python.missing : ''}`);

interface DecoderRun {
  decoder: DecoderName;
  outcomes: ServiceOutcome[];
  seconds: number;
  /** After start-up and 20 good photos; after the first WARM_UP inputs; after all, as the pool's reclaim ends and once V8 has given its pages back. */
  rssStart: number;
  rssBefore: number;
  rssReclaimed: number;
  rssAfter: number;
  alive: boolean;
  cli: CliOutcome;
}

/** A few good photos, so that RSS is measured with the allocator and the workers warm, then the idle time after which the decode pool gives memory back. */
async function settle(base: string): Promise<void> {
  for (let i = 0; i < 20; i++) {
    const r = await fetch(`${base}/v1/predict`, { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: GOOD });
    if (r.status !== 200) throw new Error(`a good photo got HTTP ${r.status}: ${await r.text()}`);
  }
  await idleReclaimed();
}

const runs: DecoderRun[] = [];
for (const decoder of DECODER_NAMES) {
  const service = await startService({
    command: process.execPath,
    args: [CLI, 'serve', '--port', '0', '--decoder', decoder, '--model-name', MODEL, '--timeout-ms', String(TIMEOUT_MS), '--log-level', 'warn'],
    ready: (output) => /listening on (\S+)/.exec(output)?.[1],
  });
  try {
    await settle(service.base);
    const rssStart = rssOf(service.pid);
    log(`${decoder}: ${inputs.length} inputs through the service at ${CONCURRENCY} clients, RSS ${mb(rssStart)} MB`);
    const started = performance.now();
    let done = 0;
    const options = { concurrency: CONCURRENCY, timeoutMs: TIMEOUT_MS, onAnswer: () => ++done % 1000 === 0 && log(`${decoder}: ${done}/${inputs.length}`) };
    // RSS is compared from after the first inputs: the decoders' first large images raise the
    // allocator's high-water mark once (glibc keeps freed pages in its arenas); a leak grows on.
    const first = await fuzzService(service.base, MODEL, inputs.slice(0, WARM_UP), options);
    await settle(service.base);
    const rssBefore = await idleRss(service.pid);
    const outcomes = [...first, ...(await fuzzService(service.base, MODEL, inputs.slice(WARM_UP), options))];
    const seconds = (performance.now() - started) / 1000;
    const alive = (await fetch(`${service.base}/v2/health/live`).then((r) => r.status, () => 0)) === 200;
    await settle(service.base);
    const rssReclaimed = rssOf(service.pid);
    const rssAfter = await idleRss(service.pid);
    log(`${decoder}: ${inputs.length} in ${seconds.toFixed(0)} s, RSS after ${mb(rssReclaimed)} MB, ${mb(rssAfter)} MB idle; ${cliInputs.length} through predict`);
    const cli = await fuzzCli(cliInputs, decoder, 30 * 60_000);
    runs.push({ decoder, outcomes, seconds, rssStart, rssBefore, rssReclaimed, rssAfter, alive, cli });
  } finally {
    await service.stop();
  }
}

// ---- the report

const accepts = (run: DecoderRun, i: number) => run.outcomes[i].status === 200;
/** PIL's verdict for a decoder: PIL decodes it, within that decoder's pixel limit. */
const pilAccepts = (decoder: DecoderName, i: number) => {
  const v = pil![i];
  return v.ok && v.size![0] * v.size![1] <= DEFAULT_MAX_PIXELS[decoder];
};

const serviceRows = runs.map((run) => {
  const { outcomes } = run;
  const count = (f: (o: ServiceOutcome) => boolean) => outcomes.filter(f).length;
  const ms = summarize(outcomes.map((o) => o.ms));
  const codes = new Map<string, number>();
  for (const o of outcomes) if (o.status >= 400 && o.status < 500) codes.set(`${o.status} ${o.code ?? ''}`.trim(), (codes.get(`${o.status} ${o.code ?? ''}`.trim()) ?? 0) + 1);
  return {
    decoder: run.decoder,
    inputs: outcomes.length,
    ok: count((o) => o.status === 200),
    refused: Object.fromEntries([...codes].sort((a, b) => b[1] - a[1])),
    status5xx: count((o) => o.status >= 500),
    status503: count((o) => o.status === 503),
    faults: count((o) => o.fault !== undefined),
    slow: count((o) => o.ms > TIMEOUT_MS),
    p50: ms.p50,
    p99: ms.p99,
    maxMs: Math.max(...outcomes.map((o) => o.ms)),
    seconds: run.seconds,
    rssStartMb: mb(run.rssStart),
    rssBeforeMb: mb(run.rssBefore),
    rssReclaimedMb: mb(run.rssReclaimed),
    rssAfterMb: mb(run.rssAfter),
    rssGrowth: run.rssAfter / run.rssBefore - 1,
    alive: run.alive,
    firstFaults: outcomes.filter((o) => o.fault).slice(0, 10).map((o) => ({ index: o.index, seed: o.seed, kind: o.kind, transport: o.transport, fault: o.fault })),
    byTransport: Object.fromEntries(TRANSPORTS.map((t) => [t, count((o) => o.transport === t && o.status === 200)])),
    byKind: Object.fromEntries(MUTATION_KINDS.map((k) => [k, count((o) => o.kind === k && o.status === 200)])),
  };
});

const cliRows = runs.map(({ decoder, cli, outcomes }) => ({
  decoder,
  inputs: cliInputs.length,
  accepted: cli.accepted.size,
  refused: cli.refused.size,
  exitCode: cli.exitCode,
  faults: cli.faults,
  seconds: cli.seconds,
  // The CLI and the service decode alike: the same inputs accepted.
  sameAsService: cliInputs.filter((input) => cli.accepted.has(input.index) === (outcomes[input.index].status === 200)).length,
}));

function agreement(a: (i: number) => boolean, b: (i: number) => boolean) {
  const n = { both: 0, onlyA: 0, onlyB: 0, neither: 0 };
  for (let i = 0; i < inputs.length; i++) {
    const [x, y] = [a(i), b(i)];
    if (x && y) n.both++;
    else if (x) n.onlyA++;
    else if (y) n.onlyB++;
    else n.neither++;
  }
  return { ...n, agree: (n.both + n.neither) / inputs.length };
}

const [sharpRun, jimpRun] = ['sharp', 'jimp'].map((d) => runs.find((r) => r.decoder === d)!);
const agreements = [
  { pair: 'sharp vs jimp', ...agreement((i) => accepts(sharpRun, i), (i) => accepts(jimpRun, i)) },
  ...(pil
    ? [
        { pair: 'sharp vs PIL', ...agreement((i) => accepts(sharpRun, i), (i) => pilAccepts('sharp', i)) },
        { pair: 'jimp vs PIL', ...agreement((i) => accepts(jimpRun, i), (i) => pilAccepts('jimp', i)) },
      ]
    : []),
];
/** Where a decoder and PIL disagree, by seed file and mutation: what is left to align. */
const disagreements = pil
  ? runs.map((run) => {
      const where = new Map<string, number>();
      for (let i = 0; i < inputs.length; i++) {
        if (accepts(run, i) === pilAccepts(run.decoder, i)) continue;
        const key = `${accepts(run, i) ? 'accepts' : 'refuses'} · ${inputs[i].seed} · ${inputs[i].kind}`;
        where.set(key, (where.get(key) ?? 0) + 1);
      }
      return { decoder: run.decoder, top: [...where].sort((a, b) => b[1] - a[1]).slice(0, 12) };
    })
  : [];

const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: packagePath(), encoding: 'utf8' }).trim();
const pass = serviceRows.every((r) => r.status5xx === 0 && r.faults === 0 && r.slow === 0 && r.alive && r.rssGrowth <= 0.1) && cliRows.every((r) => r.faults.length === 0);

const md = [
  '# Fuzzing the decoders through the service and the CLI',
  '',
  `\`node --import tsx bench/fuzz.ts --inputs ${INPUTS} --cli-inputs ${CLI_INPUTS} --concurrency ${CONCURRENCY} --seed ${SEED}\`, ` +
    `${new Date().toISOString().slice(0, 16)} UTC, load average ${loadavg()[0].toFixed(1)} at the end; ${seeds.length} seed files ` +
    `(test/fixtures/reference/formats and samples), each mutation kind in turn; transports in turn (${TRANSPORTS.join(', ')}). ` +
    `Service: \`serve --decoder D --timeout-ms ${TIMEOUT_MS}\` with its defaults (decode deadline, pixel limits: ${Object.entries(DEFAULT_MAX_PIXELS).map(([d, n]) => `${d} ${n / 1e6} MP`).join(', ')}).`,
  '',
  `Result: **${pass ? 'pass' : 'FAIL'}** (0 5xx, 0 answers without a JSON error naming the problem, 0 slower than the timeout, server alive, RSS after all within 10 % of RSS after the first ${WARM_UP}, each once the service has been idle ${IDLE_MS / 1000} s; CLI: a row per photo, exit 0/1).`,
  '',
  '## Service',
  '',
  `| decoder | inputs | 200 | 4xx by code | 5xx | 503 | bad answers | > timeout | p50 ms | p99 ms | max ms | s | RSS MB: start, after ${WARM_UP} inputs → after all (as the decode pool's reclaim ends; idle ${IDLE_MS / 1000} s) |`,
  '|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ...serviceRows.map((r) =>
    `| ${r.decoder} | ${r.inputs} | ${r.ok} | ${Object.entries(r.refused).map(([k, v]) => `${k}: ${v}`).join(', ')} | ${r.status5xx} | ${r.status503} | ${r.faults} | ${r.slow} | ` +
    `${r.p50.toFixed(0)} | ${r.p99.toFixed(0)} | ${r.maxMs.toFixed(0)} | ${r.seconds.toFixed(0)} | ${r.rssStartMb}, ${r.rssBeforeMb} → ${r.rssReclaimedMb}; ${r.rssAfterMb} (${pct(r.rssGrowth)})${r.alive ? '' : ' DEAD'} |`),
  '',
  '200s by mutation kind and by transport:',
  '',
  `| decoder | ${MUTATION_KINDS.join(' | ')} | ${TRANSPORTS.join(' | ')} |`,
  `|---|${MUTATION_KINDS.map(() => '---:').join('|')}|${TRANSPORTS.map(() => '---:').join('|')}|`,
  ...serviceRows.map((r) => `| ${r.decoder} | ${MUTATION_KINDS.map((k) => r.byKind[k]).join(' | ')} | ${TRANSPORTS.map((t) => r.byTransport[t]).join(' | ')} |`),
  '',
  '## CLI (`predict --format jsonl` on a folder of the first inputs)',
  '',
  '| decoder | inputs | predictions | error rows | exit code | faults | s | same verdict as the service |',
  '|---|---:|---:|---:|---:|---:|---:|---:|',
  ...cliRows.map((r) => `| ${r.decoder} | ${r.inputs} | ${r.accepted} | ${r.refused} | ${r.exitCode} | ${r.faults.length} | ${r.seconds.toFixed(0)} | ${r.sameAsService} |`),
  '',
  '## Which corrupt photos are accepted: sharp vs jimp vs PIL',
  '',
  pil
    ? `PIL (${pillow}) accepts an input if \`ImageOps.exif_transpose(Image.open(f)).convert("RGB")\` succeeds with its defaults (a truncated file is an error), within the decoder's pixel limit.`
    : 'No PIL verdicts (no bench venv).',
  '',
  '| pair | both accept | only the first | only the second | both refuse | agreement |',
  '|---|---:|---:|---:|---:|---:|',
  ...agreements.map((a) => `| ${a.pair} | ${a.both} | ${a.onlyA} | ${a.onlyB} | ${a.neither} | ${pct(a.agree)} |`),
  '',
  ...disagreements.flatMap((d) => [`Where ${d.decoder} and PIL disagree most (verdict of ${d.decoder} · seed · mutation):`, '', ...d.top.map(([k, n]) => `- ${k}: ${n}`), '']),
].join('\n');

const OUT = packagePath('bench', 'results');
mkdirSync(OUT, { recursive: true });
writeFileSync(`${OUT}/fuzz.md`, `${md}\n`);
writeFileSync(`${OUT}/fuzz.json`, `${JSON.stringify({ commit, seed: SEED, inputs: INPUTS, cliInputs: CLI_INPUTS, concurrency: CONCURRENCY, timeoutMs: TIMEOUT_MS, pillow: pillow, service: serviceRows, cli: cliRows, agreements, disagreements, pass }, null, 1)}\n`);
console.log(md);
if (!pass) process.exitCode = 1;

function mb(bytes: number): number {
  return Math.round(bytes / 2 ** 20);
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)} %`;
}
