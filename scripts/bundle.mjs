#!/usr/bin/env node
// Bundles the TypeScript sources and their pure-JS dependencies into a few minified ES modules,
// so the runtime images carry ~4 MB of JavaScript instead of ~80 MB of node_modules.
//   node scripts/bundle.mjs [OUT]   (default: bundle/) → OUT/dist/*.js, OUT/dist/static/
// Native packages stay outside (the images copy the ones they need into node_modules):
// onnxruntime-node (ONNX images only) and sharp (not in the bundled images: jimp decodes there).
// The addon is loaded from build/Release/ by path, as from dist/.
import { cpSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { build } from 'esbuild';

const out = resolve(process.argv[2] ?? 'bundle');
const dist = join(out, 'dist');
rmSync(out, { recursive: true, force: true });

await build({
  // Flat names: code that finds a worker beside itself (new URL('./decode-worker.js',
  // import.meta.url)) lands in a chunk in the same folder.
  entryPoints: {
    cli: 'src/cli.ts',
    'decode-worker': 'src/engine/decode-worker.ts',
    'onnx-worker': 'src/backends/onnx-worker.ts',
    worker: 'src/bench/worker.ts',
  },
  outdir: dist,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  minify: true,
  legalComments: 'linked',
  external: ['onnxruntime-node', 'sharp'],
  // CommonJS dependencies bundled into ES modules still look for require and __dirname.
  banner: {
    js: "import{createRequire as __cr}from'node:module';import{dirname as __dn}from'node:path';import{fileURLToPath as __fu}from'node:url';const require=__cr(import.meta.url),__filename=__fu(import.meta.url),__dirname=__dn(__filename);",
  },
  logLevel: 'warning',
});

// Swagger UI's page assets are files, not modules: they go beside the bundle (src/server/app.ts
// points @fastify/swagger-ui at them when they are there).
const swaggerUi = dirname(createRequire(import.meta.url).resolve('@fastify/swagger-ui/package.json'));
cpSync(join(swaggerUi, 'static'), join(dist, 'static'), { recursive: true });
console.log(`bundled into ${dist}`);
