// A benchmark run as a markdown table (printed and written) and an SVG plot of ms/img by batch.
import { availableParallelism, cpus } from 'node:os';
import type { BenchReport, EngineReport } from './run.js';
import { lineChart, PALETTE } from './svg.js';

const ms = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '—' : v < 10 ? v.toFixed(2) : v.toFixed(1));
const mb = (v: number | undefined) => (v === undefined ? '—' : v.toFixed(0));
// Every TorchScript row is set against the ONNX Runtime row measured the same way in the same run.
const ratio = (v: number | undefined, onnx: number | undefined) =>
  v === undefined || onnx === undefined || Number.isNaN(v) || Number.isNaN(onnx) ? '—' : `${(v / onnx).toFixed(2)}×`;

export function markdown(report: BenchReport, plotFile: string): string {
  const { options: o, engines } = report;
  const onnx = engines.find((e) => e.engine.backend === 'onnx');
  const lines = [
    `# pytorch-infer bench, ${report.date.slice(0, 10)}`,
    '',
    `${cpus()[0]?.model ?? process.arch}, ${availableParallelism()} CPUs, Node ${process.version}; ` +
      engines.map((e) => e.runtime).filter((r, i, all) => all.indexOf(r) === i).join(', ') + '.',
    `Every row is a fresh process holding one model. "÷ ONNX" = this row's time divided by ONNX Runtime's, measured the same way in this run (< 1: faster than ONNX).`,
    '',
    `## Load and cold start`,
    '',
    `Load = model load and warm-up forward in-process (the fastest of this engine's jobs). Cold start = \`pytorch-infer predict\` started as a new process until the first top-3 is printed (median of ${o.coldStarts}); ms/photo = the time from the first to the last answer per photo after the first, in that process (predict decodes and batches photos side by side, so photos answered together count 0) (${o.photos.length} photos, ${report.threads} threads, jimp).`,
    '',
    '| engine | load ms | cold start ms | ÷ ONNX | ms/photo | ÷ ONNX | peak RSS MB |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...engines.map((e) =>
      `| ${e.engine.label} | ${ms(e.loadMs)} | ${ms(e.coldStart.coldStartMs)} | ${ratio(e.coldStart.coldStartMs, onnx?.coldStart.coldStartMs)} | ` +
      `${ms(e.coldStart.perPhotoMs)} | ${ratio(e.coldStart.perPhotoMs, onnx?.coldStart.perPhotoMs)} | ${mb(e.coldStart.peakRssMb)} |`),
    ...(report.python
      ? [`| Python baseline: scripts/export/reference.py (PIL + TorchScript float) | — | ${ms(report.python.coldStartMs)} | ${ratio(report.python.coldStartMs, onnx?.coldStart.coldStartMs)} | ` +
          `${ms(report.python.perPhotoMs)} | ${ratio(report.python.perPhotoMs, onnx?.coldStart.perPhotoMs)} | ${mb(report.python.peakRssMb)} |`]
      : []),
    '',
    `## Inference only`,
    '',
    `Forward of a random batch, ms per image (${o.iterations} timed forwards per row after 5 untimed). ![ms/img by batch](${plotFile})`,
    '',
    '| engine | threads | batch | p50 ms/img | p99 ms/img | img/s | p50 ÷ ONNX | peak RSS MB |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...engines.flatMap((e) =>
      e.infer.flatMap((run) =>
        o.batches.map((batch) => {
          const row = run.batches.find((b) => b.batch === batch);
          const ref = onnx?.infer.find((r) => r.threads === run.threads)?.batches.find((b) => b.batch === batch);
          if (!row) return `| ${e.engine.label} | ${run.threads} | ${batch} | batch 1 only | — | — | — | — |`;
          return `| ${e.engine.label} | ${run.threads} | ${batch} | ${ms(row.p50)} | ${ms(row.p99)} | ${row.imgPerSec.toFixed(0)} | ${ratio(row.p50, ref?.p50)} | ${mb(run.peakRssMb)} |`;
        }))),
    '',
    `## End to end`,
    '',
    `Photo bytes → top-3, one photo at a time: decode + preprocess + forward (${o.photos.length} photos × ${o.rounds} passes after one untimed, ${report.threads} threads).`,
    '',
    '| engine | decoder | decode p50 ms | total p50 ms | total p99 ms | img/s | p50 ÷ ONNX | peak RSS MB |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
    ...engines.flatMap((e) =>
      e.pipeline.map((run) => {
        const ref = onnx?.pipeline.find((r) => r.decoder === run.decoder);
        return `| ${e.engine.label} | ${run.decoder} | ${ms(run.decode.p50)} | ${ms(run.total.p50)} | ${ms(run.total.p99)} | ${run.imgPerSec.toFixed(0)} | ${ratio(run.total.p50, ref?.total.p50)} | ${mb(run.peakRssMb)} |`;
      })),
    '',
  ];
  return lines.join('\n');
}

/** p50 ms/img by batch: a colour per engine, solid at the most threads, dashed at fewer. */
export function batchPlot(report: BenchReport): string {
  return lineChart({
    title: 'Inference only: ms per image by batch (p50)',
    xLabel: 'batch',
    yLabel: 'ms / image',
    xTicks: report.options.batches,
    series: report.engines.flatMap((e: EngineReport, i) =>
      e.infer.map((run) => ({
        name: `${e.engine.id}, ${run.threads} thr`,
        color: PALETTE[i % PALETTE.length],
        dashed: run.threads !== report.threads,
        points: run.batches.map((b) => ({ x: b.batch, y: b.p50 })),
      }))),
  });
}
