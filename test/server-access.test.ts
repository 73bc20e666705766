// The API key: every POST needs it, compared in constant time; GETs stay open, /metrics too
// unless protected; and `serve` reads the key from a file and warns when it serves without one.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { Classifier } from '../src/classifier.js';
import { packagePath } from '../src/paths.js';
import { createServer } from '../src/server/app.js';
import { photos } from './helpers.js';

const KEY = 'k3y-with-some-length-0123456789';
const PHOTO = readFileSync(photos()[0]);

describe('API key', () => {
  let app: FastifyInstance;
  let base: string;
  before(async () => {
    const classifier = await Classifier.create({ decoder: 'sharp' });
    app = await createServer(classifier, {
      modelVersion: '1', maxBatch: 4, maxDelayMs: 0, maxQueue: 16, decodeWorkers: 1, maxBody: 1 << 24, timeoutMs: 30_000,
      apiKey: KEY, protectMetrics: true,
    });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  after(() => app.close());

  const predict = (headers: Record<string, string>) =>
    fetch(`${base}/v1/predict?top=1`, { method: 'POST', body: PHOTO, headers: { 'content-type': 'image/jpeg', ...headers } });

  it('refuses inference without the key or with a wrong one: 401 with a JSON body', async () => {
    for (const [headers, reason] of [
      [{}, /an API key is required/],
      [{ authorization: `Bearer ${KEY}x` }, /not valid/],
      [{ authorization: `Bearer ${KEY.slice(0, -1)}` }, /not valid/],
      [{ authorization: KEY }, /an API key is required/],
    ] as const) {
      const response = await predict(headers);
      assert.equal(response.status, 401);
      assert.equal(response.headers.get('www-authenticate'), 'Bearer');
      assert.match(((await response.json()) as { error: string }).error, reason);
    }
    const v2 = await fetch(`${base}/v2/models/traced_model/infer`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    assert.equal(v2.status, 401);
  });

  it('answers with the key', async () => {
    const response = await predict({ authorization: `Bearer ${KEY}` });
    assert.equal(response.status, 200);
    assert.ok(((await response.json()) as { results: unknown[] }).results.length === 1);
  });

  it('keeps health and metadata open, and /metrics behind the key when protected', async () => {
    for (const path of ['/v2/health/live', '/v2/health/ready', '/v2', '/']) assert.equal((await fetch(`${base}${path}`)).status, 200, path);
    assert.equal((await fetch(`${base}/metrics`)).status, 401);
    assert.equal((await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${KEY}` } })).status, 200);
  });
});

describe('serve --api-key-file', () => {
  const run = promisify(execFile);
  const cli = (...args: string[]) => run(process.execPath, [packagePath('dist', 'cli.js'), 'serve', '--port', '0', ...args], { timeout: 60_000 });

  it('refuses an empty or missing key file clearly, and both ways of giving a key at once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pytorch-infer-key-'));
    writeFileSync(join(dir, 'empty'), '\n');
    for (const [args, message] of [
      [['--api-key-file', join(dir, 'missing')], /cannot read --api-key-file .*missing: no such file/],
      [['--api-key-file', join(dir, 'empty')], /--api-key-file .*empty is empty/],
      [['--api-key', 'a', '--api-key-file', join(dir, 'empty')], /not both/],
    ] as const) {
      await assert.rejects(cli(...args), (err: { code: number; stderr: string }) => {
        assert.equal(err.code, 1);
        assert.match(err.stderr, message);
        return true;
      });
    }
  });
});
