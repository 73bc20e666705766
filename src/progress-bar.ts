// A progress bar on a terminal, redrawn in place; shared by `bench` and `predict`.

/** `[#####...........]`: `done` of `total`, 24 characters of bar. */
export function bar(done: number, total: number): string {
  const width = 24;
  const filled = Math.min(width, Math.round((width * done) / Math.max(1, total)));
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

/** m:ss */
export function clock(ms: number): string {
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** Replaces the line the cursor is on (a terminal's width at most, so it never wraps). */
export function redraw(stream: NodeJS.WriteStream, line: string): void {
  stream.write(`\r\x1b[K${line.slice(0, (stream.columns || 100) - 1)}`);
}

/** Clears the line the bar was drawn on. */
export function clearLine(stream: NodeJS.WriteStream): void {
  stream.write('\r\x1b[K');
}
