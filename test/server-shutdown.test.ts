// `node dist/cli.js serve` as a user runs it: settings from the environment, readiness, and a
// SIGTERM with requests in flight that all still get their answers before a clean exit, while
// a request that arrives during the shutdown is refused with Retry-After.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { packagePath } from '../src/paths.js';
import { photos, SAMPLES_DIR, startServe, trueIndex } from './helpers.js';

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
        await sleep(50);
      }
      const base = stdout.match(/listening on (\S+)/)![1];
      assert.match(stdout, /maxBatch=2 /, 'PYTORCH_INFER_MAX_BATCH is read and printed');
      assert.match(stdout, /decoder=jimp /);
      assert.equal((await fetch(`${base}/v2/health/ready`)).status, 200);
      assert.equal(environment(child.pid!).MALLOC_ARENA_MAX, '2', 'serve restarted itself in place with 2 malloc arenas');

      // jimp decodes ~30 ms a photo in one worker: 8 photos keep the server busy for a while.
      const files = [...photos(SAMPLES_DIR), ...photos(SAMPLES_DIR)];
      const requests = files.map((file) =>
        fetch(`${base}/v1/predict?top=1`, { method: 'POST', body: readFileSync(file), headers: { 'content-type': 'image/jpeg' } }),
      );
      // Its headers are open when SIGTERM comes and complete once the server is shutting down.
      const late = await halfSent(base, '/v2/health/live');
      await sleep(60);
      child.kill('SIGTERM');
      while (!stdout.includes('SIGTERM') && child.exitCode === null) await sleep(10);
      await sleep(50);
      const refused = await late.finish();
      assert.match(refused, /^HTTP\/1\.1 503 /);
      assert.match(refused, /^retry-after: 1\r$/im, 'like a full queue, it says when to try again');
      assert.match(refused, /\r\n\r\n\{"error":"shutting down: not taking new requests"\}$/);

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

  it('keeps a MALLOC_ARENA_MAX the user set', async () => {
    const server = await startServe(['serve', '--port', '0', '--log-level', 'warn'], { MALLOC_ARENA_MAX: '8' });
    try {
      assert.equal(environment(server.pid).MALLOC_ARENA_MAX, '8');
      assert.equal((await fetch(`${server.base}/v2/health/ready`)).status, 200);
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });
});

/** The environment a process runs with now (after any execve), from /proc. */
function environment(pid: number): Record<string, string> {
  const entries = readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').filter(Boolean);
  return Object.fromEntries(entries.map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]));
}

/** A GET whose last header line is not yet sent: the connection is busy, not idle, so shutdown keeps it open. */
async function halfSent(base: string, path: string): Promise<{ finish(): Promise<string> }> {
  const { hostname, port } = new URL(base);
  const socket = connect(Number(port), hostname);
  await once(socket, 'connect');
  let response = '';
  socket.setEncoding('latin1').on('data', (chunk: string) => (response += chunk));
  const closed = once(socket, 'close');
  socket.write(`GET ${path} HTTP/1.1\r\nHost: ${hostname}\r\n`);
  return {
    async finish() {
      socket.write('\r\n');
      await closed; // the answer closes the connection
      return response;
    },
  };
}
