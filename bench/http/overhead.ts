// Issue 9's low-load goal: at one connection, a request should cost little beyond its own decode
// and forward. Sequential requests to /v1/predict; each answer says how long its decode and its
// forward took (timings), so the rest of the client's latency is the service's overhead.
import { readFileSync } from 'node:fs';
import { median } from '../../src/bench/stats.js';

export interface Overhead {
  /** Medians over the requests, in milliseconds. */
  readonly latencyMs: number;
  readonly decodePlusForwardMs: number;
  readonly overheadMs: number;
}

export async function lowLoadOverhead(base: string, photos: readonly string[], requests = 40): Promise<Overhead> {
  const bodies = photos.map((file) => readFileSync(file));
  const latency: number[] = [];
  const work: number[] = [];
  const overhead: number[] = [];
  for (let i = 0; i < requests; i++) {
    const started = performance.now();
    const response = await fetch(`${base}/v1/predict?top=5`, { method: 'POST', body: bodies[i % bodies.length], headers: { 'content-type': 'image/jpeg' } });
    const { timings } = (await response.json()) as { timings?: { decode_ms: number; inference_ms: number } };
    const ms = performance.now() - started;
    if (!response.ok || !timings) throw new Error(`${base}/v1/predict answered ${response.status} without timings`);
    latency.push(ms);
    work.push(timings.decode_ms + timings.inference_ms);
    overhead.push(ms - timings.decode_ms - timings.inference_ms);
  }
  return { latencyMs: median(latency), decodePlusForwardMs: median(work), overheadMs: median(overhead) };
}

