// A soak: `serve` as a real process under wrk's constant load of the mixed requests, one wrk run
// per sample period, and after each the server's RSS, latency and error counts. judge() holds
// the goals: from the end of the warm-up (minute 5 of 30) on, RSS grows ≤ 5 %, p99 stays within
// 1.5× and no request gets a 5xx or no answer.
import { existsSync, readFileSync } from 'node:fs';
import { packagePath } from '../../src/paths.js';
import { median } from '../../src/bench/stats.js';
import { treeCpuMs } from '../../src/bench/tree-cpu.js';
import { checkAnswer, startService } from '../http/server.js';
import { wrk } from '../http/wrk.js';
import { checkMix, type MixRequest, writeMix } from './requests.js';

export interface SoakOptions {
  readonly seconds: number;
  readonly sampleSeconds: number;
  /** The goals compare with the sample at the end of this; default: the first sixth (minute 5 of 30). */
  readonly warmUpSeconds?: number;
  readonly connections: number;
  /** Flags after `serve --port 0`. */
  readonly serveFlags: readonly string[];
  /** Where the request bodies are written. */
  readonly workDir: string;
  /** Told of each sample as it is taken. */
  readonly onSample?: (sample: Sample) => void;
}

export interface Sample {
  /** Seconds since the load started, at the end of this sample. */
  readonly atSeconds: number;
  readonly requests: number;
  readonly ok: number;
  readonly clientErrors: number;
  readonly serverErrors: number;
  /** Requests with no answer (connect/read errors, timeouts). */
  readonly socketErrors: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /**
   * The server process's resident memory (VmRSS): the median of a reading a second during the
   * sample. One reading swings by ±5 % with the photos in flight.
   */
  readonly rssMb: number;
  /** Server CPU (its whole process tree) per answered request. */
  readonly cpuMsPerRequest: number;
}

export interface Soak {
  readonly command: string;
  readonly mix: readonly Pick<MixRequest, 'kind' | 'expect' | 'file' | 'path'>[];
  readonly connections: number;
  readonly sampleSeconds: number;
  readonly samples: readonly Sample[];
  /** The sample the goals compare with: the end of the warm-up. */
  readonly baseline: number;
  readonly verdict: Verdict;
}

export interface Verdict {
  readonly rssGrowth: number;
  readonly p99Ratio: number;
  readonly serverErrors: number;
  readonly socketErrors: number;
  /** Each goal missed, in words; empty when all are met. */
  readonly failures: readonly string[];
}

export const GOALS = { rssGrowth: 0.05, p99Ratio: 1.5 } as const;
/** By default the warm-up is the first sixth of the run: minute 5 of 30. */
const WARMUP_FRACTION = 5 / 30;

const CLI = packagePath('dist', 'cli.js');
/** The v2 URLs' model name. */
const MODEL = 'soak';

export async function soak(options: SoakOptions): Promise<Soak> {
  const args = [CLI, 'serve', '--port', '0', '--model-name', MODEL, ...options.serveFlags];
  const service = await startService({ command: process.execPath, args, ready: (output) => output.match(/listening on (http:\/\/\S+)/)?.[1] });
  try {
    const mix = writeMix(options.workDir, MODEL);
    await checkMix(service.base, mix);
    const url = `${service.base}/v1/predict?top=5`;
    const samples: Sample[] = [];
    const count = Math.max(1, Math.round(options.seconds / options.sampleSeconds));
    for (let i = 1; i <= count; i++) {
      const cpuBefore = treeCpuMs(service.pid);
      const rss: number[] = [];
      // A server gone mid-sample is reported by wrk's errors and the checks after the load.
      const reading = setInterval(() => existsSync(`/proc/${service.pid}`) && rss.push(rssMb(service.pid)), 1000);
      const load = await wrk(url, mix, options.connections, options.sampleSeconds).finally(() => clearInterval(reading));
      const sample: Sample = {
        atSeconds: i * options.sampleSeconds,
        requests: load.ok + load.clientErrors + load.serverErrors + load.socketErrors,
        ok: load.ok,
        clientErrors: load.clientErrors,
        serverErrors: load.serverErrors,
        socketErrors: load.socketErrors,
        p50Ms: load.p50Ms,
        p99Ms: load.p99Ms,
        rssMb: median(rss.length > 0 ? rss : [rssMb(service.pid)]),
        cpuMsPerRequest: (treeCpuMs(service.pid) - cpuBefore) / Math.max(1, load.ok + load.clientErrors),
      };
      samples.push(sample);
      options.onSample?.(sample);
    }
    // After the load the service still answers, and answers right.
    await checkMix(service.base, mix);
    await checkAnswer(service.base, packagePath('samples', 'n01530575_brambling.JPEG'), 10);
    const warmUp = options.warmUpSeconds ?? options.seconds * WARMUP_FRACTION;
    const baseline = Math.min(count - 1, Math.max(0, Math.round(warmUp / options.sampleSeconds) - 1));
    return {
      command: ['node dist/cli.js', ...args.slice(1)].join(' '),
      mix: mix.map(({ kind, expect, file, path }) => ({ kind, expect, file: file.split('/').pop()!, path })),
      connections: options.connections,
      sampleSeconds: options.sampleSeconds,
      samples,
      baseline,
      verdict: judge(samples, baseline),
    };
  } finally {
    await service.stop();
  }
}

/**
 * The goals, checked over the samples after `baseline`: RSS against the baseline's, p99 against
 * the worst of the warm-up's last minute (the baseline alone when samples are a minute long).
 */
function judge(samples: readonly Sample[], baseline: number): Verdict {
  const base = samples[baseline];
  const after = samples.slice(baseline + 1);
  const lastMinute = samples.slice(0, baseline + 1).filter((s) => s.atSeconds > base.atSeconds - 60);
  const p99Base = Math.max(...lastMinute.map((s) => s.p99Ms));
  const rssGrowth = Math.max(0, ...after.map((s) => s.rssMb / base.rssMb - 1));
  const p99Ratio = Math.max(1, ...after.map((s) => s.p99Ms / p99Base));
  const serverErrors = sum(samples.map((s) => s.serverErrors));
  const socketErrors = sum(samples.map((s) => s.socketErrors));
  const failures = [
    rssGrowth > GOALS.rssGrowth && `RSS grew ${pct(rssGrowth)} after the warm-up (goal ≤ ${pct(GOALS.rssGrowth)})`,
    p99Ratio > GOALS.p99Ratio && `p99 reached ${p99Ratio.toFixed(2)}× the warm-up's (goal ≤ ${GOALS.p99Ratio}×)`,
    serverErrors > 0 && `${serverErrors} answers were 5xx`,
    socketErrors > 0 && `${socketErrors} requests got no answer`,
    samples.some((s) => s.ok === 0 || s.clientErrors === 0) && 'a sample lacks 2xx or 4xx answers: the mix did not run',
  ].filter((f): f is string => typeof f === 'string');
  return { rssGrowth, p99Ratio, serverErrors, socketErrors, failures };
}

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);
const pct = (fraction: number) => `${(fraction * 100).toFixed(1)} %`;

function rssMb(pid: number): number {
  const kb = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
  if (!kb) throw new Error(`no VmRSS for process ${pid}`);
  return Number(kb[1]) / 1024;
}
