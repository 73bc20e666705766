// Where predict's results go: stdout, or --output FILE written atomically: into a temporary file
// beside it, renamed over FILE once every photo is written, so no reader ever sees half a file.
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export interface Output {
  write(text: string): void;
  /** complete: every photo was written, so the file may replace FILE; otherwise it is removed. */
  close(complete: boolean): void;
}

export function openOutput(path?: string): Output {
  if (path === undefined) return { write: (text) => void process.stdout.write(text), close: () => {} };
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  let fd: number;
  try {
    fd = openSync(temp, 'w');
  } catch (err) {
    throw new Error(`cannot write --output ${path}: ${(err as Error).message}`);
  }
  return {
    write: (text) => void writeSync(fd, text),
    close(complete) {
      closeSync(fd);
      if (complete) renameSync(temp, path);
      else rmSync(temp, { force: true });
    },
  };
}
