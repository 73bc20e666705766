// The engine table of issue 2 — LibTorch ms/img at batch 1 and 8 with and without graph
// optimisation, and decode+preprocess ms/img per decoder — is a preset of `pytorch-infer bench`.
//   npm run build && node --import tsx bench/engine.ts [more bench flags]
import { spawnSync } from 'node:child_process';
import { packagePath } from '../src/paths.js';

const args = ['bench', '--backend', 'torchscript', '--threads', '2', '--batch', '1', '8', '--no-baseline', ...process.argv.slice(2)];
process.exitCode = spawnSync(process.execPath, [packagePath('dist', 'cli.js'), ...args], { stdio: 'inherit' }).status ?? 1;
