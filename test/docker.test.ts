// The Docker images, built and run on the real engine: non-root, read-only, same answers as the host.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { packagePath } from '../src/paths.js';
import { photos, SAMPLES_DIR, trueIndex } from './helpers.js';

const run = promisify(execFile);
const docker = async (...args: string[]) => (await run('docker', args, { maxBuffer: 64 * 2 ** 20 })).stdout.trim();

interface Variant {
  name: string;
  backend: 'torchscript' | 'onnx';
}

const VARIANTS: Variant[] = [
  { name: 'multistage', backend: 'torchscript' },
  { name: 'distroless', backend: 'torchscript' },
  { name: 'onnx', backend: 'onnx' },
  { name: 'onnx-distroless', backend: 'onnx' },
  { name: 'slim', backend: 'torchscript' },
  { name: 'fat', backend: 'torchscript' },
];

const engine = (() => {
  try {
    execFileSync('docker', ['info'], { stdio: 'ignore', timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
})();

describe('Docker images', { skip: !engine && !process.env.CI && 'no Docker engine (scripts/start-dockerd.sh starts one)' }, () => {
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

      it('predicts on a read-only root filesystem what the host CLI predicts', async () => {
        const out = await docker('run', '--rm', '--read-only', '--tmpfs', '/tmp', image, 'predict', '--json', `/app/samples/${name}`);
        const { predictions } = JSON.parse(out);
        const expected = host[variant.backend] as { index: number; label: string; probability: number }[];
        assert.deepEqual(predictions.map((p: { index: number }) => p.index), expected.map((p) => p.index));
        predictions.forEach((p: { probability: number }, i: number) => assert.ok(Math.abs(p.probability - expected[i].probability) < 1e-4));
      });

      it('serves: healthy, ready, and names a POSTed photo right', async () => {
        const id = await docker('run', '-d', '--rm', '--read-only', '--tmpfs', '/tmp', '-p', '127.0.0.1::8080',
          '--health-interval', '1s', '--health-start-period', '60s', image);
        try {
          const port = (await docker('port', id, '8080/tcp')).split('\n')[0].split(':').pop();
          const url = `http://127.0.0.1:${port}`;
          // The image's own healthcheck says when to connect: a connection docker-proxy accepts
          // before the server listens leaves Node's fetch pending with nothing to wake it.
          const deadline = Date.now() + 90_000;
          while ((await docker('inspect', '--format', '{{.State.Health.Status}}', id)) !== 'healthy') {
            assert.ok(Date.now() < deadline, `${image} not healthy in 90 s: ${await docker('logs', id).catch(() => '')}`);
            await new Promise((r) => setTimeout(r, 500));
          }
          assert.equal((await fetch(`${url}/v2/health/ready`)).status, 200);
          const res = await fetch(`${url}/v1/predict`, { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: readFileSync(photo) });
          assert.equal(res.status, 200);
          const body = await res.json();
          assert.equal(body.results[0].predictions[0].index, trueIndex(photo));
        } finally {
          await docker('rm', '-f', id).catch(() => '');
        }
      });
    });
  }
});
