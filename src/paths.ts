import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// dist/paths.js and src/paths.ts both sit one level below the package root.
const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');

export function packagePath(...parts: string[]): string {
  return join(root, ...parts);
}

export const DEFAULT_MODEL = packagePath('model', 'traced_model.pt');
export const DEFAULT_LABELS = packagePath('model', 'class_names.txt');
