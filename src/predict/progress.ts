// predict's account on stderr: while it runs, a bar with photos/s and ETA (on a terminal, or
// when asked); at the end, one summary line. stdout carries only the results.
import { bar, clearLine, clock, redraw } from '../progress-bar.js';

export class PredictProgress {
  #done = 0;
  #failed = 0;
  #drawn = -Infinity;
  readonly #start = performance.now();
  readonly #timer: NodeJS.Timeout | undefined;

  constructor(
    readonly total: number,
    /** Draw the bar; on a terminal it is redrawn in place, elsewhere it is a line a second. */
    private readonly show: boolean,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    // Keeps the clock moving while a slow photo holds the others back.
    this.#timer = show && stream.isTTY ? setInterval(() => this.#draw(), 1000).unref() : undefined;
  }

  photo(failed: boolean): void {
    this.#done++;
    if (failed) this.#failed++;
    if (this.show && performance.now() - this.#drawn >= (this.stream.isTTY ? 100 : 1000)) this.#draw();
  }

  /** Clears the bar and prints the summary: photos, failed, img/s. */
  finish(): void {
    clearInterval(this.#timer);
    if (this.show && this.stream.isTTY) clearLine(this.stream);
    const seconds = (performance.now() - this.#start) / 1000;
    this.stream.write(`predict: ${this.#done} photo${this.#done === 1 ? '' : 's'}, ${this.#failed} failed, ${seconds.toFixed(1)} s, ${(this.#done / seconds).toFixed(1)} img/s\n`);
  }

  #draw(): void {
    this.#drawn = performance.now();
    const elapsed = this.#drawn - this.#start;
    const rate = this.#done / (elapsed / 1000);
    const eta = rate > 0 ? clock(((this.total - this.#done) / rate) * 1000) : '?';
    const failed = this.#failed ? `  ${this.#failed} failed` : '';
    const line = `${bar(this.#done, this.total)} ${this.#done}/${this.total} photos  ${rate.toFixed(1)} photos/s  ETA ${eta}${failed}`;
    if (this.stream.isTTY) redraw(this.stream, line);
    else this.stream.write(`${line}\n`);
  }
}
