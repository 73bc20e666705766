// Shows that the native runner does not leak: RSS sampled over 10 000 forwards
// (node --import tsx bench/memory.ts [forwards] [batch]).
import { native } from '../src/native.js';
import { DEFAULT_MODEL } from '../src/paths.js';

const forwards = Number(process.argv[2] ?? 10_000);
const batch = Number(process.argv[3] ?? 1);
const module = await native().load(DEFAULT_MODEL, true);
const input = new Float32Array(batch * 3 * 224 * 224).map(() => Math.random());
const mb = () => (process.memoryUsage().rss / 2 ** 20).toFixed(1);

console.log(`| forwards | RSS (MB) |\n|---:|---:|\n| 0 | ${mb()} |`);
const start = performance.now();
for (let i = 1; i <= forwards; i++) {
  await module.forward(input, [batch, 3, 224, 224]);
  if (i % (forwards / 10) === 0) console.log(`| ${i} | ${mb()} |`);
}
module.close();
console.log(`\n${forwards} forwards of batch ${batch} in ${((performance.now() - start) / 1000).toFixed(1)} s`);
