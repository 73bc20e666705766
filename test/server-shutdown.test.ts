// `node dist/cli.js serve` as a user runs it: settings from the environment, readiness, and a
// SIGTERM with requests in flight that all still get their answers before a clean exit.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { packagePath } from '../src/paths.js';
import { photos, SAMPLES_DIR, trueIndex } from './helpers.js';

const CLI = packagePath('dist', 'cli.js');

describe('pytorch-infer serve (child process)', () => {
  it('finishes in-flight requests on SIGTERM and exits 0', async () => {
    const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--log-level', 'warn'], {
      env: { ...process.env, PYTORCH_INFER_MAX_BATCH: '2', PYTORCH_INFER_DECODER: 'jimp' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    const exited = once(child, 'exit');
    try {
      while (!/listening on (\S+)/.test(stdout)) {
        if (child.exitCode !== null) assert.fail(`serve exited early: ${stdout}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const base = stdout.match(/listening on (\S+)/)![1];
      assert.match(stdout, /maxBatch=2 /, 'PYTORCH_INFER_MAX_BATCH is read and printed');
      assert.match(stdout, /decoder=jimp /);
      assert.equal((await fetch(`${base}/v2/health/ready`)).status, 200);

      // jimp decodes ~30 ms a photo in one worker: 8 photos keep the server busy for a while.
      const files = [...photos(SAMPLES_DIR), ...photos(SAMPLES_DIR)];
      const requests = files.map((file) =>
        fetch(`${base}/v1/predict?top=1`, { method: 'POST', body: readFileSync(file), headers: { 'content-type': 'image/jpeg' } }),
      );
      await new Promise((resolve) => setTimeout(resolve, 60));
      child.kill('SIGTERM');

      const answers = await Promise.all(requests);
      for (const [i, response] of answers.entries()) {
        assert.equal(response.status, 200, files[i]);
        assert.equal((await response.json()).results[0].predictions[0].index, trueIndex(files[i]));
      }
      const [code] = await exited;
      assert.equal(code, 0);
      assert.match(stdout, /SIGTERM: not ready, finishing requests in flight\nstopped\n/);
      await assert.rejects(fetch(`${base}/v2/health/live`), 'no new connections after shutdown');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
