// 1000 fuzzed photos (bench/fuzz.ts's mutations, seed 1) through the real service and the real
// CLI: 200 or a 4xx whose JSON error names the problem, never a 5xx, a crash or a late answer;
// the server alive and its memory back after; and the photos accepted are the ones PIL accepts,
// as far as the decoders follow it (PIL's verdicts: test/fixtures/fuzz-pil-verdicts.json).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fuzzInputs, fuzzService, fuzzCli, idleReclaimed, idleRss } from '../bench/fuzz/run.js';
import { type FuzzInput, fuzzSeeds, inputsDigest, TEST_FIXTURE, TEST_FIXTURE_INPUTS, TEST_FIXTURE_SEED } from '../bench/fuzz/mutate.js';
import { DEFAULT_MAX_PIXELS, type DecoderName } from '../src/image/types.js';
import { freePort, SAMPLES_DIR, startServe } from './helpers.js';

const TIMEOUT_MS = 30_000;
const GOOD = readFileSync(`${SAMPLES_DIR}/n01530575_brambling.JPEG`);
const LARGE = readFileSync(new URL('./fixtures/large/n01440764_tench_4032x3024.jpg', import.meta.url));
const inputs = fuzzInputs(fuzzSeeds(), TEST_FIXTURE_SEED, TEST_FIXTURE_INPUTS);
const pil = JSON.parse(readFileSync(TEST_FIXTURE, 'utf8')) as { inputsSha256: string; ok: (0 | [number, number])[] };

const pilAccepts = (decoder: DecoderName, input: FuzzInput) => {
  const size = pil.ok[input.index];
  return size !== 0 && size[0] * size[1] <= DEFAULT_MAX_PIXELS[decoder];
};

/** The share of inputs on which `accepted` and PIL agree. */
function agreement(decoder: DecoderName, some: readonly FuzzInput[], accepted: (input: FuzzInput) => boolean): number {
  return some.filter((input) => accepted(input) === pilAccepts(decoder, input)).length / some.length;
}

async function predict(base: string, photo: Buffer): Promise<void> {
  const response = await fetch(`${base}/v1/predict`, { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: photo });
  assert.equal(response.status, 200, await response.text());
}

/**
 * Good photos, a 12 MP one on each worker at once among them, then the idle time after which the
 * decode pool gives memory back: the RSS to come back to is the one a real large photo leaves,
 * not the one of a server never used.
 */
async function settle(base: string): Promise<void> {
  await Promise.all([LARGE, LARGE].map((photo) => predict(base, photo)));
  for (let i = 0; i < 10; i++) await predict(base, GOOD);
  await idleReclaimed();
}

/** Passes at most; the first two raise what stays mapped to the inputs' high-water mark. */
const MAX_PASSES = 5;
/** A pass that leaves RSS within this of the pass before it has levelled off. */
const LEVEL = 1.05;

/**
 * `some` through `serve --decoder decoder` at 8 clients, pass after pass, until RSS levels off.
 * The first passes raise what stays mapped (the allocator's arenas, V8's heaps) to the inputs'
 * high-water mark; after that RSS can still step once (glibc's arenas, a decode worker retired and
 * respawned), then stays; a leak grows with every pass. Idle RSS after each of 5 passes here,
 * jimp: 395, 394, 398, 401, 424 MB; sharp: 455, 463, 464, 482, 489. Read as the pool's reclaim
 * ended instead, before V8 had unmapped its freed pages, jimp's swung by ±80 MB from pass to pass
 * (600, 482, 522, 562, 600 in one CI run). So from the third pass on, one pass that ends within
 * 5 % of the one before it passes; none in five fails. The outcomes of every pass (the first
 * pass's come first), and the idle RSS after each.
 */
async function throughService(decoder: DecoderName, some: readonly FuzzInput[]) {
  const server = await startServe(['serve', '--port', String(await freePort()), '--decoder', decoder, '--model-name', 'fuzz', '--log-level', 'warn']);
  try {
    await settle(server.base);
    const options = { concurrency: 8, timeoutMs: TIMEOUT_MS };
    const outcomes: Awaited<ReturnType<typeof fuzzService>> = [];
    const rss: number[] = [];
    while (rss.length < MAX_PASSES) {
      const pass = await fuzzService(server.base, 'fuzz', some, options);
      outcomes.push(...pass);
      const live = await fetch(`${server.base}/v2/health/live`);
      assert.equal(live.status, 200, 'the server is alive after the fuzzing');
      await settle(server.base);
      rss.push(await idleRss(server.pid));
      if (rss.length >= 3 && rss.at(-1)! <= rss.at(-2)! * LEVEL) break;
    }
    return { outcomes, rss };
  } finally {
    await server.stop();
  }
}

describe(`${inputs.length} fuzzed photos (seed ${TEST_FIXTURE_SEED})`, () => {
  it('are the inputs PIL judged in the fixture (else: node --import tsx bench/fuzz.ts --test-fixture)', () => {
    assert.equal(inputsDigest(inputs), pil.inputsSha256);
  });

  for (const [decoder, some, minAgreement] of [
    ['sharp', inputs.slice(0, 600), 0.97],
    ['jimp', inputs.slice(600, 900), 0.94], // 0.97 here; 0.80 before jimp read JPEG, GIF and PNG as PIL does
  ] as const) {
    it(`${some.length} through the service with ${decoder}: 200 or a JSON 4xx naming the problem, in time, RSS back, PIL's verdicts`, async (t) => {
      const { outcomes, rss } = await throughService(decoder, some);
      const passes = `RSS after each pass: ${rss.map((b) => b >> 20).join(', ')} MB`;
      t.diagnostic(passes);
      const faults = outcomes.filter((o) => o.fault !== undefined);
      assert.deepEqual(faults.slice(0, 5).map((o) => `#${o.index} ${o.seed} ${o.kind} by ${o.transport}: ${o.fault}`), []);
      const late = outcomes.filter((o) => o.ms > TIMEOUT_MS);
      assert.equal(late.length, 0, `answers slower than ${TIMEOUT_MS} ms: ${late.map((o) => o.index)}`);
      assert.ok(outcomes.some((o) => o.status === 200) && outcomes.some((o) => o.status === 400), 'some accepted, some refused');
      assert.ok(rss.length < MAX_PASSES || rss.at(-1)! <= rss.at(-2)! * LEVEL, `${passes}: still growing`);
      const agree = agreement(decoder, some, (input) => outcomes[input.index - some[0].index].status === 200);
      assert.ok(agree >= minAgreement, `${decoder} agrees with PIL on ${(agree * 100).toFixed(1)} % of the inputs`);
    });
  }

  it('100 through predict (jimp): a row per photo, predictions or an error, exit code 1, and PIL\'s verdicts', async () => {
    const some = inputs.slice(900);
    const cli = await fuzzCli(some, 'jimp', 300_000);
    assert.deepEqual(cli.faults, []);
    assert.equal(cli.exitCode, 1, 'some photos failed');
    const agree = agreement('jimp', some, (input) => cli.accepted.has(input.index));
    assert.ok(agree >= 0.9, `predict --decoder jimp agrees with PIL on ${(agree * 100).toFixed(1)} % of the inputs`);
  });
});
