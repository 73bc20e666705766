// A soak as a markdown table, a JSON file and an SVG plot of RSS and latency relative to the
// warm-up's sample, the goals' reference.
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { basename } from 'node:path';
import { lineChart, PALETTE } from '../../src/bench/svg.js';
import { GOALS, type Soak } from './run.js';

/** Writes `<out>.md`, `<out>.json` and `<out>.svg`; returns the markdown. */
export function writeReport(soak: Soak, out: string, commit: string): string {
  const { samples, baseline, verdict } = soak;
  const base = samples[baseline];
  const minutes = (s: number) => (s / 60).toFixed(soak.sampleSeconds % 60 ? 1 : 0);
  const kinds = [...new Set(soak.mix.map((r) => r.kind))].map((k) => `${soak.mix.filter((r) => r.kind === k).length} ${k}`).join(', ');
  const markdown = [
    `# Soak (bench/soak.ts), ${new Date().toISOString().slice(0, 16)} UTC at ${commit}`,
    '',
    `\`${soak.command}\` under wrk, ${soak.connections} keep-alive connections from loopback for ${minutes(samples.at(-1)!.atSeconds)} min, ` +
      `cycling through ${soak.mix.length} requests (${kinds}); one sample every ${soak.sampleSeconds} s (its RSS: the median of a reading a second). ` +
      `${cpus()[0]?.model ?? process.arch}, ${availableParallelism()} CPUs shared with other work (load average at the end ${loadavg()[0].toFixed(1)}).`,
    '',
    `Goals, from the warm-up's end (sample at ${minutes(base.atSeconds)} min) on: RSS grows ≤ ${GOALS.rssGrowth * 100} %, ` +
      `p99 ≤ ${GOALS.p99Ratio}× its value then, 0 5xx, 0 requests unanswered.`,
    `Result: RSS grew ${(verdict.rssGrowth * 100).toFixed(1)} %, p99 reached ${verdict.p99Ratio.toFixed(2)}×, ` +
      `${verdict.serverErrors} 5xx, ${verdict.socketErrors} unanswered: ${verdict.failures.length ? `**missed**: ${verdict.failures.join('; ')}` : '**all met**'}.`,
    '',
    `![RSS and latency over the soak](${basename(out)}.svg)`,
    '',
    '| min | requests | 2xx | 4xx | 5xx | unanswered | p50 ms | p99 ms | RSS MB | CPU-ms/request |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...samples.map((s, i) =>
      `| ${minutes(s.atSeconds)}${i === baseline ? ' (warm-up)' : ''} | ${s.requests} | ${s.ok} | ${s.clientErrors} | ${s.serverErrors} | ${s.socketErrors} | ` +
      `${s.p50Ms.toFixed(0)} | ${s.p99Ms.toFixed(0)} | ${s.rssMb.toFixed(0)} | ${s.cpuMsPerRequest.toFixed(1)} |`),
    '',
  ].join('\n');
  writeFileSync(`${out}.md`, markdown);
  writeFileSync(`${out}.json`, `${JSON.stringify({ commit, ...soak }, null, 2)}\n`);
  const relative = (pick: (s: Soak['samples'][number]) => number) =>
    samples.map((s) => ({ x: s.atSeconds / 60, y: (100 * pick(s)) / pick(base) }));
  writeFileSync(`${out}.svg`, lineChart({
    title: `serve under a ${soak.connections}-connection mixed load`,
    xLabel: 'minutes',
    yLabel: `% of the value at ${minutes(base.atSeconds)} min`,
    series: [
      { name: 'RSS', color: PALETTE[0], points: relative((s) => s.rssMb) },
      { name: 'p50', color: PALETTE[2], points: relative((s) => s.p50Ms) },
      { name: 'p99', color: PALETTE[1], points: relative((s) => s.p99Ms) },
    ],
    markers: [{ x: base.atSeconds / 60, color: '#999' }],
    notes: [`RSS at ${minutes(base.atSeconds)} min: ${base.rssMb.toFixed(0)} MB`, `p99 then: ${base.p99Ms.toFixed(0)} ms`, `goals: RSS ≤ ${100 + GOALS.rssGrowth * 100} %, p99 ≤ ${GOALS.p99Ratio * 100} %`],
  }));
  return markdown;
}
