#!/usr/bin/env node
// Finds a LibTorch CPU distribution for the native build, in this order:
//   1. LIBTORCH             a libtorch folder (official zip layout) or an unpacked wheel
//   2. a torch CPU wheel    in LIBTORCH_WHEEL_DIR, PIP_FIND_LINKS or pip's configured find-links,
//                           unpacked once (only lib/, include/, share/) into the cache
//   3. download             the official CPU libtorch zip (LIBTORCH_URL overrides it;
//                           LIBTORCH_DOWNLOAD=0 forbids it)
// Prints the root to give CMake as CMAKE_PREFIX_PATH (the folder holding share/cmake/Torch).
// `--print include|lib` prints what node-gyp needs instead.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, symlinkSync, createWriteStream } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';

export const LIBTORCH_VERSION = '2.13.0';
export const DEFAULT_URL =
  `https://download.pytorch.org/libtorch/cpu/libtorch-shared-with-deps-${LIBTORCH_VERSION}%2Bcpu.zip`;

const log = (msg) => process.stderr.write(`libtorch: ${msg}\n`);

export function cacheDir(env = process.env) {
  return resolve(env.LIBTORCH_CACHE ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'pytorch-infer'));
}

/** The prefix holding share/cmake/Torch in a libtorch folder or an unpacked wheel, or null. */
export function torchPrefix(dir) {
  for (const prefix of [dir, join(dir, 'torch'), join(dir, 'libtorch')]) {
    if (existsSync(join(prefix, 'share', 'cmake', 'Torch', 'TorchConfig.cmake'))) return prefix;
  }
  return null;
}

function pipFindLinks(env) {
  const dirs = [env.LIBTORCH_WHEEL_DIR, ...(env.PIP_FIND_LINKS ?? '').split(/\s+/)];
  for (const python of ['python3', 'python']) {
    try {
      const out = execFileSync(python, ['-m', 'pip', 'config', 'list'], {
        encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 20_000,
      });
      for (const m of out.matchAll(/find-links='([^']*)'/g)) dirs.push(...m[1].split(/\s+/));
      break;
    } catch { /* no python or no pip: other sources remain */ }
  }
  return [...new Set(dirs.filter(Boolean).map((d) => d.replace(/^file:\/\//, '')))];
}

/** The wheel step of the discovery order alone (docker/build-all.sh puts it in the build context). */
export function findLocalWheel(env = process.env) {
  return findWheel(pipFindLinks(env));
}

/** Newest torch CPU wheel for linux x86_64 in the given folders. */
export function findWheel(dirs) {
  const wheels = [];
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) {
      if (/^torch-\d[^-]*\+cpu-.*linux.*x86_64\.whl$/.test(name)) wheels.push(join(dir, name));
    }
  }
  const version = (p) => p.split('/').pop().split('-')[1].split('+')[0].split('.').map(Number);
  wheels.sort((a, b) => {
    const [va, vb] = [version(a), version(b)];
    for (let i = 0; i < Math.max(va.length, vb.length); i++) if ((va[i] ?? 0) !== (vb[i] ?? 0)) return (vb[i] ?? 0) - (va[i] ?? 0);
    return 0;
  });
  return wheels[0] ?? null;
}

// Unzips only the members that form a LibTorch distribution; python's zipfile is
// on every machine that builds native addons (node-gyp needs it), unzip may not be.
const UNPACK = `
import sys, zipfile
src, dst, *prefixes = sys.argv[1:]
skip = ('libtorch_python.so', 'test.so', 'libbackend_with_compiler.so', 'libjitbackend_test.so')
with zipfile.ZipFile(src) as z:
    for m in z.infolist():
        if m.filename.startswith(tuple(prefixes)) and not m.filename.endswith(skip):
            z.extract(m, dst)
`;

function unpack(zip, target, prefixes) {
  const tmp = `${target}.partial-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  execFileSync('python3', ['-c', UNPACK, zip, tmp, ...prefixes], { stdio: 'inherit' });
  rmSync(target, { recursive: true, force: true });
  renameSync(tmp, target); // atomic: a half-unpacked cache is never taken for a whole one
}

async function download(url, file) {
  log(`downloading ${url}`);
  const res = await fetch(url).catch((err) => {
    throw new Error(`the download of ${url} failed: ${err.cause?.message ?? err.message}`);
  });
  if (!res.ok || !res.body) throw new Error(`the download of ${url} failed: HTTP ${res.status}`);
  const tmp = `${file}.partial-${process.pid}`;
  await pipeline(Readable.fromWeb(res.body), createWriteStream(tmp));
  renameSync(tmp, file);
}

export class LibTorchNotFound extends Error {}

export async function findLibTorch(env = process.env) {
  if (env.LIBTORCH) {
    const prefix = torchPrefix(resolve(env.LIBTORCH));
    if (!prefix) throw new LibTorchNotFound(`LIBTORCH=${env.LIBTORCH} holds no share/cmake/Torch/TorchConfig.cmake (expected an unpacked libtorch zip or torch wheel)`);
    log(`using LIBTORCH=${prefix}`);
    return prefix;
  }
  const cache = cacheDir(env);
  const wheel = findLocalWheel(env);
  if (wheel) {
    const target = join(cache, wheel.split('/').pop().replace(/\.whl$/, ''));
    if (!torchPrefix(target)) {
      log(`unpacking ${wheel} into ${target} (once)`);
      mkdirSync(cache, { recursive: true });
      unpack(wheel, target, ['torch/lib/', 'torch/include/', 'torch/share/']);
    }
    log(`using the wheel ${wheel}`);
    return torchPrefix(target);
  }
  const url = env.LIBTORCH_URL ?? DEFAULT_URL;
  if (env.LIBTORCH_DOWNLOAD === '0') {
    throw new LibTorchNotFound('no LIBTORCH, no torch CPU wheel found, and LIBTORCH_DOWNLOAD=0 forbids the download');
  }
  const target = join(cache, decodeURIComponent(url.split('/').pop()).replace(/\.zip$/, ''));
  if (!torchPrefix(target)) {
    mkdirSync(cache, { recursive: true });
    const zip = `${target}.zip`;
    try {
      if (!existsSync(zip)) await download(url, zip);
    } catch (err) {
      throw new LibTorchNotFound(`no LIBTORCH, no torch CPU wheel found, and ${err.message}`);
    }
    unpack(zip, target, ['libtorch/lib/', 'libtorch/include/', 'libtorch/share/']);
    rmSync(zip);
  }
  return torchPrefix(target);
}

/**
 * Points <root>/libtorch at the LibTorch prefix. The addon's RPATH is $ORIGIN/../../libtorch/lib,
 * so one built here, or prebuilt elsewhere and unpacked into any node_modules, finds it.
 */
export function linkLibTorch(root, prefix) {
  const link = join(root, 'libtorch');
  rmSync(link, { force: true }); // a link, never a folder someone put there
  symlinkSync(prefix, link);
}

export const HELP = `LibTorch (CPU) is needed to build the native addon. Give it one of these ways:
  - LIBTORCH=/path/to/libtorch   an unpacked libtorch zip (https://pytorch.org, C++/CPU) or torch wheel
  - a torch CPU wheel in a folder named by LIBTORCH_WHEEL_DIR, PIP_FIND_LINKS or pip's find-links
    (pip download torch --no-deps --index-url https://download.pytorch.org/whl/cpu -d DIR)
  - network access to ${DEFAULT_URL}
    (or LIBTORCH_URL=<mirror of that zip>)`;

async function main() {
  const print = process.argv[process.argv.indexOf('--print') + 1];
  try {
    const prefix = await findLibTorch();
    const out = { include: `${join(prefix, 'include')} ${join(prefix, 'include', 'torch', 'csrc', 'api', 'include')}`, lib: join(prefix, 'lib') };
    process.stdout.write(`${out[print] ?? prefix}\n`);
  } catch (err) {
    if (!(err instanceof LibTorchNotFound)) throw err;
    process.stderr.write(`\nerror: LibTorch not found: ${err.message}\n\n${HELP}\n`);
    process.exit(1);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
