// Steady load for the stack tests and the scaling bench: keep-alive connections to one URL on
// this machine, each POSTing the photos in turn from the first phase() on; every answer is
// tallied under the phase that was current when its request started. Bounded: it stops by
// itself after maxSeconds.
import http from 'node:http';

export interface Tally {
  requests: number;
  ok: number;
  non2xx: number;
  socketErrors: number;
  /** Non-2xx statuses and socket error codes seen, with their counts. */
  failures: Record<string, number>;
  latenciesMs: number[];
  startedAt: number;
  endedAt: number;
}

export interface LoadOptions {
  url: string;
  photos: Buffer[];
  connections: number;
  maxSeconds: number;
}

export class Load {
  readonly tallies = new Map<string, Tally>();
  private current = '';
  private stopping = false;
  private readonly agent: http.Agent;
  private workers: Promise<void>[] = [];
  private deadline = 0;

  constructor(private readonly options: LoadOptions) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: options.connections });
  }

  /** Starts a new phase (the first starts the load): requests from now on are tallied under its name. */
  phase(name: string): void {
    const now = Date.now();
    const previous = this.tallies.get(this.current);
    if (previous) previous.endedAt = now;
    this.current = name;
    this.tallies.set(name, { requests: 0, ok: 0, non2xx: 0, socketErrors: 0, failures: {}, latenciesMs: [], startedAt: now, endedAt: now });
    if (!previous) {
      this.deadline = now + this.options.maxSeconds * 1000;
      this.workers = Array.from({ length: this.options.connections }, (_, i) => this.worker(i));
    }
  }

  /** Whether maxSeconds ran out, so the load stopped before stop() was called. */
  get expired(): boolean {
    return this.deadline > 0 && Date.now() >= this.deadline;
  }

  /** Stops sending, waits for the answers in flight, and returns the tallies by phase. */
  async stop(): Promise<Map<string, Tally>> {
    this.stopping = true;
    await Promise.all(this.workers);
    this.tallies.get(this.current)!.endedAt = Date.now();
    this.agent.destroy();
    return this.tallies;
  }

  private async worker(index: number): Promise<void> {
    const { photos } = this.options;
    for (let i = index; !this.stopping && Date.now() < this.deadline; i += this.options.connections) {
      const tally = this.tallies.get(this.current)!;
      const start = performance.now();
      tally.requests++;
      const outcome = await this.post(photos[i % photos.length]);
      if (outcome === 200) {
        tally.ok++;
        tally.latenciesMs.push(performance.now() - start);
      } else {
        if (typeof outcome === 'number') tally.non2xx++;
        else tally.socketErrors++;
        tally.failures[outcome] = (tally.failures[outcome] ?? 0) + 1;
      }
    }
  }

  /** The status of a POST whose answer is a JSON prediction, or the socket error's code. */
  private post(body: Buffer): Promise<number | string> {
    return new Promise((resolve) => {
      const request = http.request(this.options.url, {
        method: 'POST',
        agent: this.agent,
        headers: { 'content-type': 'image/jpeg', 'content-length': body.length },
        timeout: 60_000,
      });
      request.on('timeout', () => request.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
      request.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
      request.on('response', (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
        response.on('end', () => {
          const status = response.statusCode!;
          resolve(status === 200 && !hasPrediction(Buffer.concat(chunks)) ? '200 without a prediction' : status);
        });
      });
      request.end(body);
    });
  }
}

function hasPrediction(body: Buffer): boolean {
  try {
    return JSON.parse(body.toString()).results?.[0]?.predictions?.length > 0;
  } catch {
    return false;
  }
}

export function percentile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
