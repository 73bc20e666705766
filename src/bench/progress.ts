// Progress of a benchmark run on stderr: a bar redrawn in place on a terminal, one line per task
// elsewhere (CI logs stay short and readable). stdout is left to the results.
import { bar, clearLine, clock, redraw } from '../progress-bar.js';

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
    if (this.stream.isTTY) clearLine(this.stream);
    this.stream.write(`benchmark done: ${this.#done} steps in ${this.#elapsed()}\n`);
  }

  #draw(): void {
    redraw(this.stream, `${bar(this.#done, this.total)} ${this.#done}/${this.total} ${this.#elapsed()}  ${this.#task}`);
  }

  #elapsed(): string {
    return clock(performance.now() - this.#start);
  }
}
