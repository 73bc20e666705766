// The Python reference service's interpreter: a venv in .cache/ made from the local pip mirror
// only (a public index is unreachable here and pip would hang on it), remade when
// requirements.txt changes.
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { packagePath } from '../../src/paths.js';

export const VENV = packagePath('.cache', 'bench-venv');
export const VENV_PYTHON = join(VENV, 'bin', 'python');
export const SERVICE_DIR = packagePath('bench', 'python-service');
const REQUIREMENTS = join(SERVICE_DIR, 'requirements.txt');
/** The requirements the venv was made from, written once pip succeeded. */
const STAMP = join(VENV, 'requirements.txt');
const PIP_SOURCES = ['--index-url', 'file:///opt/pypi/simple', '--extra-index-url', 'file:///opt/pypi-more/simple', '--find-links', '/opt/wheels'];
const REPORTED = ['onnxruntime', 'pillow', 'numpy', 'fastapi', 'uvicorn', 'httptools', 'uvloop'];

const run = promisify(execFile);

export type BenchPython = { python: string; versions: Record<string, string> } | { missing: string };

/** The venv's python and its package versions, or why there is none (no python3 on the PATH). */
export async function benchPython(log: (line: string) => void): Promise<BenchPython> {
  try {
    await run('python3', ['--version']);
  } catch (err) {
    return { missing: `no python3 to make ${VENV} with (${(err as Error).message.split('\n')[0]})` };
  }
  const current = existsSync(STAMP) && readFileSync(STAMP, 'utf8') === readFileSync(REQUIREMENTS, 'utf8');
  if (!current) {
    log(`making ${VENV} from the local pip mirror (about a minute)`);
    rmSync(VENV, { recursive: true, force: true });
    await run('python3', ['-m', 'venv', VENV]);
    const pip = ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '-q', ...PIP_SOURCES, '-r', REQUIREMENTS];
    await run(VENV_PYTHON, pip, { timeout: 900_000 }).catch((err: Error & { stderr?: string }) => {
      throw new Error(`pip install -r ${REQUIREMENTS} failed: ${err.stderr?.split('\n').filter((l) => !l.startsWith('WARNING: Location')).join('\n') ?? err.message}`);
    });
    copyFileSync(REQUIREMENTS, STAMP);
  }
  const script = `import importlib.metadata as m, json, platform; print(json.dumps({"python": platform.python_version(), **{p: m.version(p) for p in ${JSON.stringify(REPORTED)}}}))`;
  const { stdout } = await run(VENV_PYTHON, ['-c', script]);
  return { python: VENV_PYTHON, versions: JSON.parse(stdout) as Record<string, string> };
}
