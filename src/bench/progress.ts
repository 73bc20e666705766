// Progress of a benchmark run on stderr: a bar redrawn in place on a terminal, one line per task
// elsewhere (CI logs stay short and readable). stdout is left to the results.

export class Progress {
  #done = 0;
  #task = '';
  readonly #start = performance.now();
  readonly #timer: NodeJS.Timeout | undefined;

  constructor(
    readonly total: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    // Keeps the clock moving through long tasks.
    this.#timer = stream.isTTY ? setInterval(() => this.#draw(), 1000).unref() : undefined;
  }

  /** A task of several steps begins. */
  task(label: string): void {
    this.#task = label;
    if (this.stream.isTTY) this.#draw();
    else this.stream.write(`[${this.#done}/${this.total} ${this.#elapsed()}] ${label}\n`);
  }

  /** One step of the current task is done. */
  step(): void {
    this.#done++;
    if (this.stream.isTTY) this.#draw();
  }

  finish(): void {
    clearInterval(this.#timer);
    if (this.stream.isTTY) this.stream.write('\r\x1b[K');
    this.stream.write(`benchmark done: ${this.#done} steps in ${this.#elapsed()}\n`);
  }

  #draw(): void {
    const width = 24;
    const filled = Math.round((width * this.#done) / Math.max(1, this.total));
    const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.#done}/${this.total} ${this.#elapsed()}  ${this.#task}`;
    this.stream.write(`\r\x1b[K${line.slice(0, (this.stream.columns || 100) - 1)}`);
  }

  #elapsed(): string {
    const s = Math.round((performance.now() - this.#start) / 1000);
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
  }
}
