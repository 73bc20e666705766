// The Docker images, built and run on the real engine: non-root, read-only, same answers as the host.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { packagePath } from '../src/paths.js';
import { freePort, hasDockerEngine, photos, SAMPLES_DIR, trueIndex } from './helpers.js';

const run = promisify(execFile);
const docker = async (...args: string[]) => (await run('docker', args, { maxBuffer: 64 * 2 ** 20 })).stdout.trim();

interface Variant {
  name: string;
  backend: 'torchscript' | 'onnx';
  /** Size budget in MB (docker's uncompressed size, decimal). */
  budget?: number;
  /** Carries sharp (and so the JPEG addon's fast path). */
  sharp?: boolean;
}

const VARIANTS: Variant[] = [
  // Each rose by 9 MB with Node 24, whose stripped binary is 9.8 MB over Node 20's.
  { name: 'multistage', backend: 'torchscript', budget: 509 },
  { name: 'distroless', backend: 'torchscript', budget: 489 },
  { name: 'onnx', backend: 'onnx', budget: 269 },
  { name: 'onnx-distroless', backend: 'onnx', budget: 194 },
  // The one-stage images carry sharp, and decode JPEG with libjpeg-turbo directly.
  { name: 'slim', backend: 'torchscript', sharp: true },
  { name: 'fat', backend: 'torchscript', sharp: true },
];

// The multistage runtime is node:24-bookworm-slim (195 MB here) plus the stripped LibTorch
// libraries (347 MB): over the budget before any byte of ours (docs/images.md has the figures).
// Its test stays visible as a todo; what the image adds to its base is held to LibTorch + 25 MB.
const OVER_FLOOR: Record<string, string> = {
  multistage: 'node:24-bookworm-slim + stripped LibTorch (347 MB) already exceed 509 MB',
};
const MB = 1e6;
const imageSize = async (image: string) => Number(await docker('image', 'inspect', '--format', '{{.Size}}', image));
const layers = async (image: string) => JSON.parse(await docker('image', 'inspect', '--format', '{{json .RootFS.Layers}}', image)) as string[];

/** The node:24-bookworm-slim image (public or docker/bases.sh's stand-in) the image was built on. */
async function runtimeBase(image: string): Promise<string> {
  const own = await layers(image);
  for (const base of ['node:24-bookworm-slim', 'local/node:24-bookworm-slim']) {
    const theirs = await layers(base).catch(() => []);
    if (theirs.length && theirs.every((layer, i) => own[i] === layer)) return base;
  }
  throw new Error(`${image} is not built on node:24-bookworm-slim`);
}

const engine = hasDockerEngine();

// .ci/run tests the images on its main Node line only: they carry their own Node.
const skip = process.env.SKIP_DOCKER_TESTS === '1'
  ? 'SKIP_DOCKER_TESTS=1'
  : !engine && !process.env.CI && 'no Docker engine (scripts/start-dockerd.sh starts one)';

describe('Docker images', { skip }, () => {
  const photo = photos(SAMPLES_DIR)[1];
  const name = photo.split('/').pop()!;
  const host: Record<string, unknown> = {};

  before(async () => {
    assert.ok(engine, 'no Docker engine is reachable: run scripts/start-dockerd.sh');
    await run('bash', [packagePath('docker', 'build-all.sh'), ...VARIANTS.map((v) => v.name)], { timeout: 40 * 60_000, maxBuffer: 64 * 2 ** 20 });
    for (const backend of ['torchscript', 'onnx']) {
      const { stdout } = await run(process.execPath, [packagePath('dist', 'cli.js'), 'predict', '--json', '--backend', backend, photo]);
      host[backend] = JSON.parse(stdout).predictions;
    }
  });

  for (const variant of VARIANTS) {
    const image = `pytorch-infer-${variant.name}`;
    describe(image, () => {
      it('runs as a non-root user', async () => {
        const user = await docker('image', 'inspect', '--format', '{{.Config.User}}', image);
        assert.ok(user && !/^(root|0)(:|$)/.test(user), `user '${user}'`);
      });

      if (variant.budget) {
        it(`fits its budget of ${variant.budget} MB`, { todo: OVER_FLOOR[variant.name] }, async () => {
          const size = await imageSize(image);
          assert.ok(size <= variant.budget! * MB, `${image} is ${(size / MB).toFixed(0)} MB`);
        });
      }
      if (OVER_FLOOR[variant.name]) {
        it('adds to its base only LibTorch and 25 MB more', async () => {
          const added = (await imageSize(image)) - (await imageSize(await runtimeBase(image)));
          const libtorch = Number((await docker('run', '--rm', '--entrypoint', 'du', image, '-sb', '/app/libtorch/lib')).split(/\s/)[0]);
          assert.ok(added <= libtorch + 25 * MB, `${image} adds ${(added / MB).toFixed(0)} MB to its base, LibTorch ${(libtorch / MB).toFixed(0)} MB`);
        });
      }

      it('predicts on a read-only root filesystem what the host CLI predicts', async () => {
        const out = await docker('run', '--rm', '--read-only', '--tmpfs', '/tmp', image, 'predict', '--json', `/app/samples/${name}`);
        const { predictions } = JSON.parse(out);
        const expected = host[variant.backend] as { index: number; label: string; probability: number }[];
        assert.deepEqual(predictions.map((p: { index: number }) => p.index), expected.map((p) => p.index));
        predictions.forEach((p: { probability: number }, i: number) => assert.ok(Math.abs(p.probability - expected[i].probability) < 1e-4));
      });

      if (variant.sharp) {
        it('decodes JPEG with libjpeg-turbo directly (--decoder sharp)', async () => {
          const info = JSON.parse(await docker('run', '--rm', image, 'info', '--decoder', 'sharp', '--json'));
          assert.equal(info.jpeg, 'libjpeg-turbo');
        });
      }

      it('serves: healthy, ready, and names a POSTed photo right', async () => {
        const id = await docker('run', '-d', '--rm', '--read-only', '--tmpfs', '/tmp', '-p', '127.0.0.1::8080',
          '--health-interval', '1s', '--health-start-period', '60s', image);
        try {
          const port = (await docker('port', id, '8080/tcp')).split('\n')[0].split(':').pop();
          const url = `http://127.0.0.1:${port}`;
          await untilHealthy(id);
          assert.equal((await fetch(`${url}/v2/health/ready`)).status, 200);
          await assertNamesPhoto(url);
          // The API docs' assets come along (the bundled images carry them beside the bundle).
          assert.equal((await fetch(`${url}/docs/static/swagger-ui.css`)).status, 200);
        } finally {
          await docker('rm', '-f', id).catch(() => '');
        }
      });
    });
  }

  it('docker/compose.yaml starts the service with its healthcheck', async () => {
    const port = await freePort();
    const compose = (...args: string[]) =>
      run('docker-compose', ['-f', packagePath('docker', 'compose.yaml'), '-p', `pytorch-infer-test-${process.pid}`, ...args], {
        env: { ...process.env, PYTORCH_INFER_PORT: String(port) },
      });
    await compose('up', '-d');
    try {
      await untilHealthy((await compose('ps', '-q')).stdout.trim());
      await assertNamesPhoto(`http://127.0.0.1:${port}`);
    } finally {
      await compose('down', '-t', '5');
    }
  });

  /** Waits for the container's own healthcheck: a connection docker-proxy accepts before the
   * server listens leaves Node's fetch pending with nothing to wake it. */
  async function untilHealthy(id: string): Promise<void> {
    const deadline = Date.now() + 90_000;
    while ((await docker('inspect', '--format', '{{.State.Health.Status}}', id)) !== 'healthy') {
      assert.ok(Date.now() < deadline, `container not healthy in 90 s: ${await docker('logs', id).catch(() => '')}`);
      await sleep(500);
    }
  }

  async function assertNamesPhoto(url: string): Promise<void> {
    const res = await fetch(`${url}/v1/predict`, { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: readFileSync(photo) });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.results[0].predictions[0].index, trueIndex(photo));
  }
});
