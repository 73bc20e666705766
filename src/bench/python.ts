// The Python baseline: scripts/export/reference.py (PIL + torch, one photo at a time), run by a
// Python that can import torch.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { DEFAULT_MODEL, packagePath } from '../paths.js';

const REFERENCE_SCRIPT = packagePath('scripts', 'export', 'reference.py');

/** Where to look when no --python is given: $PYTHON, the venv scripts/export/README.md sets up, python3. */
const CANDIDATES = [process.env.PYTHON, packagePath('.venv-export', 'bin', 'python'), 'python3'];

async function importsTorch(python: string): Promise<boolean> {
  try {
    await promisify(execFile)(python, ['-c', 'import torch, PIL'], { timeout: 120_000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * The Python to run the baseline with: `explicit` if given (it must import torch), else the first
 * candidate that imports torch, else undefined.
 */
export async function findPython(explicit?: string): Promise<string | undefined> {
  if (explicit !== undefined) {
    if (!(await importsTorch(explicit))) throw new Error(`--python ${explicit}: cannot run it and import torch and PIL`);
    return explicit;
  }
  for (const python of CANDIDATES) {
    if (python && (await importsTorch(python))) return python;
  }
  return undefined;
}

/** Arguments for reference.py's CLI mode (top-3 per photo, like `pytorch-infer predict`), unbuffered. */
export function referenceArgs(photos: readonly string[], threads: number): string[] {
  return ['-u', REFERENCE_SCRIPT, '--model', DEFAULT_MODEL, '--top', '3', '--threads', String(threads), ...photos];
}
