// What `predict` was asked to classify: files, folders walked recursively, `-` for one photo on
// stdin, and lists of paths (--files-from). The list holds names only; a photo's bytes are read
// when its turn comes (readInput), so memory does not grow with the number of photos.
import { type FileHandle, lstat, open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ImageError, readHeader } from '../image/index.js';

/** A photo to read (a path, or stdin as `-`), or a path that cannot be one, with why. */
export type Input = { name: string; error?: undefined } | { name: string; error: string };

/** The stdin marker, as a positional argument and as --files-from's argument. */
export const STDIN = '-';

/** Positionals in order, then the --files-from list's paths; folders expand in place. */
export async function listInputs(photos: readonly string[], filesFrom?: string): Promise<Input[]> {
  const inputs: Input[] = [];
  for (const photo of photos) {
    if (photo === STDIN) inputs.push({ name: STDIN });
    else await addPath(photo, inputs);
  }
  if (filesFrom !== undefined) {
    for await (const path of readList(filesFrom)) await addPath(path, inputs);
  }
  return inputs;
}

/** One path per line; blank lines are skipped, nothing else is trimmed (names may end in spaces). */
async function* readList(list: string): AsyncGenerator<string> {
  try {
    const lines = list === STDIN ? createInterface({ input: process.stdin, crlfDelay: Infinity }) : (await open(list)).readLines();
    for await (const line of lines) if (line !== '') yield line;
  } catch (err) {
    throw new Error(`cannot read --files-from ${list}: ${reason(err)}`);
  }
}

/** A path named by the user: a folder is walked, anything else is read as a photo. */
async function addPath(path: string, inputs: Input[]): Promise<void> {
  const stats = await stat(path).catch((err) => err as NodeJS.ErrnoException);
  if (stats instanceof Error) inputs.push({ name: path, error: await statFailure(path, stats) });
  else if (stats.isDirectory()) await walk(path, new Set([`${stats.dev}:${stats.ino}`]), inputs);
  else inputs.push({ name: path }); // a pipe such as <(cat photo.jpg) is read like a file
}

/**
 * A folder's entries in name order, depth first; hidden entries (".name") are skipped. Inside a
 * folder only regular files are read: a FIFO or device would block or never end. Symbolic
 * links are followed; `ancestors` (device:inode of the folders above) stops a link loop.
 */
async function walk(dir: string, ancestors: Set<string>, inputs: Input[]): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    inputs.push({ name: dir, error: `cannot read folder ${dir}: ${reason(err)}` });
    return;
  }
  const before = inputs.length;
  for (const name of names.filter((n) => !n.startsWith('.')).sort()) {
    const path = join(dir, name);
    const stats = await stat(path).catch((err) => err as NodeJS.ErrnoException);
    if (stats instanceof Error) {
      inputs.push({ name: path, error: await statFailure(path, stats) });
    } else if (stats.isDirectory()) {
      const id = `${stats.dev}:${stats.ino}`;
      if (ancestors.has(id)) inputs.push({ name: path, error: `${path} is a link to a folder above it (a loop): not walked again` });
      else await walk(path, new Set([...ancestors, id]), inputs);
    } else if (stats.isFile()) {
      inputs.push({ name: path });
    } else {
      inputs.push({ name: path, error: `${path} is not a regular file (a FIFO, socket or device): not read` });
    }
  }
  if (inputs.length === before) inputs.push({ name: dir, error: `folder ${dir} is empty: no photos in it${names.length ? ' (only hidden files, which are skipped)' : ''}` });
}

async function statFailure(path: string, err: NodeJS.ErrnoException): Promise<string> {
  const link = err.code === 'ENOENT' && (await lstat(path).then((s) => s.isSymbolicLink(), () => false));
  return link ? `${path} is a broken symbolic link (its target does not exist)` : `cannot read ${path}: ${reason(err)}`;
}

const REASONS: Record<string, string> = {
  ENOENT: 'no such file or folder',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ENOTDIR: 'a part of the path is not a folder',
  ELOOP: 'too many levels of symbolic links',
  EISDIR: 'is a folder',
};

function reason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return REASONS[e.code ?? ''] ?? e.message;
}

/** First bytes read to tell a photo from other files before reading all of it. */
const SNIFF_BYTES = 64;

/**
 * An input's bytes. A regular file is recognised by its content first (its header, as the
 * decoders sniff it), so a video or archive in a photo folder is refused without being read.
 */
export async function readInput(input: Input): Promise<Uint8Array> {
  if (input.error !== undefined) throw new Error(input.error);
  if (input.name === STDIN) return readStdin();
  let file: FileHandle;
  try {
    file = await open(input.name, 'r');
  } catch (err) {
    throw new Error(`cannot read ${input.name}: ${reason(err)}`);
  }
  try {
    if ((await file.stat()).isFile()) {
      const head = new Uint8Array(SNIFF_BYTES);
      const { bytesRead } = await file.read(head, 0, SNIFF_BYTES, 0);
      sniff(head.subarray(0, bytesRead));
    }
    return await file.readFile();
  } catch (err) {
    if (err instanceof ImageError) throw err;
    throw new Error(`cannot read ${input.name}: ${reason(err)}`);
  } finally {
    await file.close();
  }
}

/** Throws what readHeader says of a file that is no photo; a header cut short here is no verdict. */
function sniff(head: Uint8Array): void {
  try {
    readHeader(head);
  } catch (err) {
    if (err instanceof ImageError && err.code !== 'CORRUPT_IMAGE') throw err;
  }
}

async function readStdin(): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
