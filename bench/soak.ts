/*
 * Soak: `pytorch-infer serve` for N minutes at 16 connections with good photos, broken photos and
 * v2 tensor requests; RSS, p50/p99 and error counts every minute. Writes bench/results/soak.md,
 * soak.json and soak.svg and exits 1 if a goal is missed (bench/soak/run.ts: RSS growth ≤ 5 % and
 * p99 ≤ 1.5× after minute 5, no 5xx). Needs wrk (apt-get install wrk) and dist (npm run build).
 *   node --import tsx bench/soak.ts [--minutes 30] [--warm-up-minutes 5] [--connections 16] [--sample-seconds 60] [--out bench/results/soak] [-- serve flags]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { packagePath } from '../src/paths.js';
import { writeReport } from './soak/report.js';
import { soak } from './soak/run.js';

const { values, positionals } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    connections: { type: 'string', default: '16' },
    'sample-seconds': { type: 'string', default: '60' },
    'warm-up-minutes': { type: 'string' },
    out: { type: 'string', default: packagePath('bench', 'results', 'soak') },
  },
  allowPositionals: true,
});
const count = (name: string, text: string) => {
  const n = Number(text);
  if (!(n > 0)) throw new Error(`--${name} must be a positive number, got ${text}`);
  return n;
};
const minutes = count('minutes', values.minutes);
const sampleSeconds = Math.round(count('sample-seconds', values['sample-seconds']));
const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: packagePath(), encoding: 'utf8' }).trim();
const workDir = mkdtempSync(join(tmpdir(), 'soak-'));
try {
  const result = await soak({
    seconds: minutes * 60,
    sampleSeconds,
    warmUpSeconds: values['warm-up-minutes'] === undefined ? undefined : count('warm-up-minutes', values['warm-up-minutes']) * 60,
    connections: Math.round(count('connections', values.connections)),
    serveFlags: ['--log-level', 'warn', ...positionals],
    workDir,
    onSample: (s) => console.error(`${(s.atSeconds / 60).toFixed(1)} min: ${s.requests} requests, ${s.serverErrors} 5xx, p50 ${s.p50Ms.toFixed(0)} ms, p99 ${s.p99Ms.toFixed(0)} ms, RSS ${s.rssMb.toFixed(0)} MB`),
  });
  console.log(writeReport(result, values.out, commit));
  process.exitCode = result.verdict.failures.length ? 1 : 0;
} finally {
  rmSync(workDir, { recursive: true, force: true });
}
