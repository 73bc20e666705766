#!/usr/bin/env node
// Builds the native addon (build/Release/pytorch_infer.node) against LibTorch.
//   node scripts/build-native.mjs          cmake-js with CMakeLists.txt (what `npm install` runs)
//   node scripts/build-native.mjs --gyp    node-gyp with binding.gyp (same sources, same result)
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findLibTorch, HELP, LibTorchNotFound } from './libtorch.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

function run(cmd, args, env = process.env) {
  const { status, error } = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env });
  if (error) throw error;
  if (status !== 0) process.exit(status ?? 1);
}

let prefix;
try {
  prefix = await findLibTorch();
} catch (err) {
  if (!(err instanceof LibTorchNotFound)) throw err;
  process.stderr.write(`\nerror: cannot build the pytorch-infer addon: LibTorch not found: ${err.message}\n\n${HELP}\n`);
  process.exit(1);
}

if (process.argv.includes('--gyp')) {
  // binding.gyp asks scripts/libtorch.mjs again; LIBTORCH makes that answer immediate.
  // Node's own headers, where its installation has them, spare node-gyp a download.
  const nodeDir = join(dirname(process.execPath), '..');
  const local = existsSync(join(nodeDir, 'include', 'node', 'node_api.h')) ? [`--nodedir=${nodeDir}`] : [];
  run(process.execPath, [require.resolve('node-gyp/bin/node-gyp.js'), 'rebuild', ...local], { ...process.env, LIBTORCH: prefix });
} else {
  const cmakeJs = join(dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
  run(process.execPath, [cmakeJs, 'compile', '--CDCMAKE_PREFIX_PATH=' + join(prefix, 'share', 'cmake'), '--CDCMAKE_BUILD_TYPE=Release']);
}
