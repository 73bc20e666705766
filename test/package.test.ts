// The package as a user gets it: `npm pack`, then `npm install` of the tarball into a fresh
// project with no environment variables, and the typed library API and the CLI from there.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { packagePath } from '../src/paths.js';
import { photos, SAMPLES_DIR, trueIndex } from './helpers.js';

const pkg = JSON.parse(readFileSync(packagePath('package.json'), 'utf8'));
interface Semver {
  satisfies(version: string | object, range: string): boolean;
  minVersion(range: string): object | null;
}
const semver = createRequire(import.meta.url)('semver') as Semver; // npm's own, via node-gyp and fastify
const supported = semver.satisfies(process.version, pkg.engines.node);
const TSC = packagePath('node_modules', 'typescript', 'bin', 'tsc');
const photo = photos(SAMPLES_DIR)[1];

/** The environment of a user's shell: none of npm's, LibTorch's or ONNX Runtime's variables, this Node first on PATH. */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(npm_|LIBTORCH|ONNXRUNTIME|ORT_|PYTORCH_INFER_)/i.test(k)));
  return { ...env, PATH: `${dirname(process.execPath)}:${process.env.PATH}`, ...extra };
}

async function sh(cwd: string, cmd: string, args: string[], env = userEnv()) {
  try {
    const { stdout, stderr } = await promisify(execFile)(cmd, args, { cwd, env, timeout: 600_000, maxBuffer: 64 * 2 ** 20 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** npm's own lines that are not problems: npm 11 lists dependency install scripts nobody approved yet. */
const npmNoise = (stderr: string) => stderr.split('\n').filter((l) => l && !l.startsWith('npm warn install-scripts'));

function project(dir: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  return dir;
}

describe('npm package', { skip: !supported && `Node ${process.version} is outside engines ${pkg.engines.node} (install_dev_tools.sh upgrades it)` }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'pytorch-infer-package-'));
  const app = project(join(tmp, 'app'));
  const installed = join(app, 'node_modules', 'pytorch-infer');
  let tarball: string;

  before(async () => {
    const packed = await sh(packagePath(), 'npm', ['pack', '--pack-destination', tmp]);
    assert.equal(packed.code, 0, packed.stderr);
    tarball = join(tmp, packed.stdout.trim().split('\n').pop()!);
  });

  it('packs the prebuilt addon for linux-x64, and no local build or LibTorch link', async () => {
    const files = (await sh(tmp, 'tar', ['-tzf', tarball])).stdout.split('\n');
    assert.ok(files.includes('package/prebuilds/linux-x64/pytorch_infer.node'), 'prebuilt addon');
    assert.ok(files.includes('package/dist/index.d.ts'), 'type declarations');
    assert.ok(!files.some((f) => /^package\/(build|libtorch|node_modules)\//.test(f)), files.filter((f) => /build|libtorch/.test(f)).join(', '));
    assert.ok(!existsSync(packagePath('prebuilds')), 'npm pack leaves no prebuilds/ in the checkout');
  });

  it('installs into a fresh project with no error, no compiler run and no ONNX Runtime', async () => {
    const r = await sh(app, 'npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball, '@types/node@22']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(npmNoise(r.stderr), [], 'npm printed only install-script notices');
    assert.ok(!existsSync(join(installed, 'build')), 'the prebuilt addon was used, nothing compiled');
    assert.ok(existsSync(join(installed, 'libtorch', 'lib', 'libtorch.so')), 'LibTorch linked where the addon\'s RPATH looks');
    assert.ok(!existsSync(join(app, 'node_modules', 'onnxruntime-node')), 'onnxruntime-node is not installed for users who do not ask');
  });

  it('holds engines to what every installed dependency needs', () => {
    const floor = semver.minVersion(pkg.engines.node)!;
    for (const dir of readdirSync(join(app, 'node_modules'), { recursive: true, encoding: 'utf8' }).filter((p) => p.endsWith('package.json'))) {
      const dep = JSON.parse(readFileSync(join(app, 'node_modules', dir), 'utf8'));
      const range = dep.engines?.node;
      if (!dep.name || !dep.version || typeof range !== 'string') continue;
      assert.ok(semver.satisfies(floor, range), `${dep.name}@${dep.version} needs node ${range}, engines allows ${floor}`);
    }
  });

  it('gives the library API with its types: tsc --noEmit passes, a type error fails, classify() names the photo', async () => {
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, outDir: 'out', types: ['node'] },
      files: ['app.ts'],
    }));
    writeFileSync(join(app, 'app.ts'), `import { Classifier, type Prediction } from 'pytorch-infer';

const classifier = await Classifier.create();
const top3: Prediction[] = await classifier.classify(process.argv[2]);
console.log(JSON.stringify(top3));
await classifier.close();
`);
    const check = await sh(app, process.execPath, [TSC, '--noEmit']);
    assert.equal(check.code, 0, check.stdout);
    writeFileSync(join(app, 'wrong.ts'), `import { Classifier } from 'pytorch-infer';\nconst label: number = (await (await Classifier.create()).classify('x.jpg'))[0].label;\n`);
    const wrong = await sh(app, process.execPath, [TSC, '--noEmit', '--module', 'NodeNext', '--target', 'ES2022', '--strict', 'wrong.ts']);
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stdout, /wrong\.ts.*TS2322: Type 'string' is not assignable to type 'number'/);

    const emit = await sh(app, process.execPath, [TSC]);
    assert.equal(emit.code, 0, emit.stdout);
    const run = await sh(app, process.execPath, ['out/app.js', photo]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, '');
    assert.equal(JSON.parse(run.stdout)[0].index, trueIndex(photo));
  });

  it('runs `npx pytorch-infer predict` there, printing nothing on stderr but its summary line', async () => {
    const r = await sh(app, 'npx', ['pytorch-infer', 'predict', '--json', photo]);
    assert.equal(r.code, 0, r.stderr);
    // No npm warning and no error: only predict's own one-line summary of the job.
    assert.match(r.stderr, /^predict: 1 photo, 0 failed, [\d.]+ s, [\d.]+ img\/s\n$/);
    assert.equal(JSON.parse(r.stdout).predictions[0].index, trueIndex(photo));
  });

  it('asks for onnxruntime-node on --backend onnx, and runs it once installed as the README says', async () => {
    const missing = await sh(app, 'npx', ['pytorch-infer', 'predict', '--backend', 'onnx', photo]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /--backend onnx needs onnxruntime-node.*npm install onnxruntime-node/);
    for (const args of [['pkg', 'set', 'allowScripts.onnxruntime-node=false', '--json'], ['install', '--prefer-offline', '--no-audit', '--no-fund', 'onnxruntime-node@^1.30']]) {
      const r = await sh(app, 'npm', args);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(npmNoise(r.stderr), []);
    }
    const r = await sh(app, 'npx', ['pytorch-infer', 'predict', '--json', '--backend', 'onnx', photo]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).predictions[0].index, trueIndex(photo));
  });

  it('without LibTorch anywhere: the install says how to provide it, still succeeds, and predict says it again', async () => {
    const bare = project(join(tmp, 'bare'));
    // No wheel (pip's config hidden), an empty cache, no download: a machine with no way to get LibTorch.
    const env = userEnv({ PIP_CONFIG_FILE: '/dev/null', PIP_FIND_LINKS: '', LIBTORCH_CACHE: join(tmp, 'no-cache'), LIBTORCH_DOWNLOAD: '0' });
    const r = await sh(bare, 'npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--foreground-scripts', tarball], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /pytorch-infer: cannot build the LibTorch addon: LibTorch not found/);
    assert.match(r.stderr, /LIBTORCH=\/path\/to\/libtorch/);
    assert.match(r.stderr, /--backend onnx\) works without it/);
    assert.equal(r.stderr.match(/LibTorch not found/g)?.length, 1, 'one message');
    const predict = await sh(bare, 'npx', ['pytorch-infer', 'predict', photo], env);
    assert.equal(predict.code, 1);
    assert.match(predict.stderr, /LibTorch was not found when pytorch-infer was installed.*npm rebuild pytorch-infer/);
    assert.match(predict.stderr, /--backend onnx/);
    assert.doesNotMatch(predict.stderr, /at .*\.js:\d+/, 'no stack trace');
  });
});
