#!/usr/bin/env node
// The native addons (every .node the build produces, e.g. build/Release/pytorch_infer.node),
// linked against LibTorch through <package>/libtorch (scripts/libtorch.mjs finds it).
//   node scripts/build-native.mjs             what `npm install` runs: link LibTorch, then use the
//                                             prebuilt addons in prebuilds/<platform>-<arch>/ when they
//                                             load here, else compile with cmake-js (CMakeLists.txt)
//   node scripts/build-native.mjs --gyp       compile with node-gyp (binding.gyp: same sources, same result)
//   node scripts/build-native.mjs --prebuild  compile with cmake-js and copy the addons to prebuilds/
//                                             (`npm pack` runs it; `npm publish` ships them)
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findLibTorch, HELP, LibTorchNotFound, linkLibTorch } from './libtorch.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const platform = `${process.platform}-${process.arch}`;
const prebuilds = join(root, 'prebuilds', platform);
const mode = process.argv.includes('--gyp') ? 'gyp' : process.argv.includes('--prebuild') ? 'prebuild' : 'install';
// An install that cannot build the addon still succeeds: the ONNX backend needs no LibTorch.
const giveUp = (msg) => {
  process.stderr.write(`\npytorch-infer: ${msg}\n${mode === 'install' ? 'The ONNX backend (--backend onnx) works without it.\n' : ''}\n`);
  process.exit(mode === 'install' ? 0 : 1);
};

function run(cmd, args, env = process.env) {
  const { status, error } = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env });
  if (error) throw error;
  if (status !== 0) process.exit(status ?? 1);
}

const addons = (dir) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.node')).map((f) => join(dir, f)) : []);

/**
 * True when the prebuilt LibTorch addon loads here (right libc, right LibTorch), tried in a child
 * process. The JPEG addon is optional: where it does not load (no libjpeg.so.62), sharp decodes JPEG.
 */
function prebuiltFits() {
  const files = addons(prebuilds).filter((f) => f.endsWith('/pytorch_infer.node'));
  if (!files.length) return false;
  const { status } = spawnSync(process.execPath, ['-e', `for (const f of ${JSON.stringify(files)}) require(f)`], { stdio: 'ignore' });
  return status === 0;
}

if (platform !== 'linux-x64') {
  giveUp(`the LibTorch addon is built for linux-x64 only, not ${platform}; the torchscript backend is unavailable here.`);
}

let prefix;
try {
  prefix = await findLibTorch();
} catch (err) {
  if (!(err instanceof LibTorchNotFound)) throw err;
  giveUp(`cannot build the LibTorch addon: LibTorch not found: ${err.message}\n\n${HELP}\n\nThen run \`npm rebuild pytorch-infer\`.`);
}
linkLibTorch(root, prefix);

if (mode === 'install' && prebuiltFits()) {
  console.log(`pytorch-infer: using the prebuilt addons in prebuilds/${platform}/`);
  process.exit(0);
}
if (spawnSync('cmake', ['--version'], { stdio: 'ignore' }).error && mode !== 'gyp') {
  giveUp(`no prebuilt addon fits ${platform} and compiling one needs cmake >= 3.18 and g++ >= 10 (C++20), which are not installed.`);
}
if (mode === 'gyp') {
  // binding.gyp asks scripts/libtorch.mjs again; LIBTORCH makes that answer immediate.
  // Node's own headers, where its installation has them, spare node-gyp a download.
  const nodeDir = join(dirname(process.execPath), '..');
  const local = existsSync(join(nodeDir, 'include', 'node', 'node_api.h')) ? [`--nodedir=${nodeDir}`] : [];
  run(process.execPath, [require.resolve('node-gyp/bin/node-gyp.js'), 'rebuild', ...local], { ...process.env, LIBTORCH: prefix });
} else {
  const cmakeJs = join(dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
  run(process.execPath, [cmakeJs, 'compile', '--CDCMAKE_PREFIX_PATH=' + join(prefix, 'share', 'cmake'), '--CDCMAKE_BUILD_TYPE=Release']);
}
if (mode === 'prebuild') {
  rmSync(prebuilds, { recursive: true, force: true });
  mkdirSync(prebuilds, { recursive: true });
  for (const file of addons(join(root, 'build', 'Release'))) cpSync(file, join(prebuilds, file.split('/').pop()));
  console.log(`pytorch-infer: prebuilt ${addons(prebuilds).map((f) => f.split('/').pop()).join(', ')} into prebuilds/${platform}/`);
}
