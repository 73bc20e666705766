// The API key: every POST needs it, compared in constant time; GETs stay open, /metrics too
// unless protected; and `serve` reads the key from a file and warns when it serves without one.
// CORS: off unless --cors-origin names the calling page's origin; then a preflight for a request
// with the key passes without it, and even a 401 tells that page why, over HTTP and in Chromium.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { type Browser, chromium } from 'playwright-core';
import { Classifier } from '../src/classifier.js';
import { packagePath } from '../src/paths.js';
import type { AccessOptions } from '../src/server/access.js';
import { createServer } from '../src/server/app.js';
import { photos, startServe } from './helpers.js';

const KEY = 'k3y-with-some-length-0123456789';
const ALLOWED = 'https://app.example.com';
const PHOTO = readFileSync(photos()[0]);

/** A service with these access rules, listening on loopback for the suite's tests. */
function serving(access: AccessOptions): { app: FastifyInstance; base: string } {
  const served = {} as { app: FastifyInstance; base: string };
  before(async () => {
    const classifier = await Classifier.create({ decoder: 'sharp' });
    served.app = await createServer(classifier, {
      modelVersion: '1', maxBatch: 4, maxDelayMs: 0, maxQueue: 16, decodeWorkers: 1, maxBody: 1 << 24, timeoutMs: 30_000, ...access,
    });
    served.base = await served.app.listen({ host: '127.0.0.1', port: 0 });
  });
  after(() => served.app.close());
  return served;
}

describe('API key', () => {
  const served = serving({ apiKey: KEY, protectMetrics: true });

  const predict = (headers: Record<string, string>) =>
    fetch(`${served.base}/v1/predict?top=1`, { method: 'POST', body: PHOTO, headers: { 'content-type': 'image/jpeg', ...headers } });

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
    const v2 = await fetch(`${served.base}/v2/models/traced_model/infer`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    assert.equal(v2.status, 401);
  });

  it('answers with the key', async () => {
    const response = await predict({ authorization: `Bearer ${KEY}` });
    assert.equal(response.status, 200);
    assert.ok(((await response.json()) as { results: unknown[] }).results.length === 1);
  });

  it('keeps health and metadata open, and /metrics behind the key when protected', async () => {
    for (const path of ['/v2/health/live', '/v2/health/ready', '/v2', '/']) assert.equal((await fetch(`${served.base}${path}`)).status, 200, path);
    assert.equal((await fetch(`${served.base}/metrics`)).status, 401);
    assert.equal((await fetch(`${served.base}/metrics`, { headers: { authorization: `Bearer ${KEY}` } })).status, 200);
  });
});

describe('CORS with --cors-origin', () => {
  const served = serving({ apiKey: KEY, corsOrigins: ['http://localhost:3000', ALLOWED] });

  const preflight = (origin: string, headers = 'authorization, content-type') =>
    fetch(`${served.base}/v1/predict?top=1`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': headers },
    });

  it('passes the preflight of an allowed origin without the key, naming the Authorization header', async () => {
    const response = await preflight(ALLOWED);
    assert.equal(response.status, 204);
    assert.equal(response.headers.get('access-control-allow-origin'), ALLOWED);
    assert.match(response.headers.get('access-control-allow-methods')!, /\bPOST\b/);
    assert.match(response.headers.get('access-control-allow-headers')!, /\bAuthorization\b/i);
    assert.match(response.headers.get('access-control-allow-headers')!, /\bContent-Type\b/i);
    assert.equal(response.headers.get('access-control-allow-credentials'), null, 'a bearer key, not cookies');
  });

  it('answers an allowed origin with its CORS headers, the 401 without the key too', async () => {
    const ok = await fetch(`${served.base}/v1/predict?top=1`, { method: 'POST', body: PHOTO, headers: { origin: ALLOWED, 'content-type': 'image/jpeg', authorization: `Bearer ${KEY}` } });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('access-control-allow-origin'), ALLOWED);
    assert.match(ok.headers.get('vary')!, /origin/i);
    const refused = await fetch(`${served.base}/v1/predict?top=1`, { method: 'POST', body: PHOTO, headers: { origin: ALLOWED, 'content-type': 'image/jpeg' } });
    assert.equal(refused.status, 401);
    assert.equal(refused.headers.get('access-control-allow-origin'), ALLOWED, 'the page can read why');
    assert.match(refused.headers.get('access-control-expose-headers')!, /WWW-Authenticate/i);
    assert.match(((await refused.json()) as { error: string }).error, /API key is required/);
  });

  it('gives no CORS header to another origin, nor to a header it does not name', async () => {
    for (const origin of ['https://evil.example.com', 'https://app.example.com.evil.example.com', 'http://app.example.com']) {
      const response = await preflight(origin);
      assert.equal(response.headers.get('access-control-allow-origin'), null, origin);
      const post = await fetch(`${served.base}/v1/predict?top=1`, { method: 'POST', body: PHOTO, headers: { origin, 'content-type': 'image/jpeg', authorization: `Bearer ${KEY}` } });
      assert.equal(post.headers.get('access-control-allow-origin'), null, origin);
    }
    const odd = await preflight(ALLOWED, 'authorization, x-custom');
    assert.doesNotMatch(odd.headers.get('access-control-allow-headers') ?? '', /x-custom/i);
  });
});

describe('CORS in Chromium', () => {
  // Pages served from loopback like the service (Chromium keeps a page of a public origin out of
  // loopback addresses whatever CORS says), one of an origin allowed, one of another.
  const pages: Record<'allowed' | 'other', string> = { allowed: '', other: '' };
  const pageServers: HttpServer[] = [];
  const corsOrigins: string[] = [];
  before(async () => {
    for (const name of ['allowed', 'other'] as const) {
      const server = createHttpServer((_request, response) => response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>caller</title>'));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      pageServers.push(server);
      pages[name] = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    }
    corsOrigins.push(pages.allowed); // read by serving()'s before hook, which runs after this one
  });
  after(() => pageServers.forEach((server) => server.close()));
  const served = serving({ apiKey: KEY, corsOrigins });
  let browser: Browser;
  before(async () => {
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  });
  after(() => browser?.close());

  /** What a page of `origin` gets when it POSTs the photo to the service: the status and error or label, or the browser's refusal. */
  async function fromPage(origin: string, authorization?: string): Promise<string> {
    const page = await browser.newPage();
    try {
      await page.goto(`${origin}/`);
      return await page.evaluate(async ({ url, photo, authorization }) => {
        const headers: Record<string, string> = { 'content-type': 'image/jpeg' };
        if (authorization) headers.authorization = authorization;
        try {
          const response = await fetch(url, { method: 'POST', headers, body: Uint8Array.from(atob(photo), (c) => c.charCodeAt(0)) });
          const json = await response.json();
          return `${response.status} ${json.error ?? json.results[0].predictions[0].label}`;
        } catch (err) {
          return `refused: ${(err as Error).name}`;
        }
      }, { url: `${served.base}/v1/predict?top=1`, photo: PHOTO.toString('base64'), authorization });
    } finally {
      await page.close();
    }
  }

  it('lets the allowed origin call with the key (the preflight names Authorization) and read a 401, and no other origin', async () => {
    const direct = await fetch(`${served.base}/v1/predict?top=1`, { method: 'POST', body: PHOTO, headers: { 'content-type': 'image/jpeg', authorization: `Bearer ${KEY}` } });
    const label = ((await direct.json()) as { results: { predictions: { label: string }[] }[] }).results[0].predictions[0].label;
    assert.equal(await fromPage(pages.allowed, `Bearer ${KEY}`), `200 ${label}`);
    assert.match(await fromPage(pages.allowed), /^401 an API key is required/);
    assert.equal(await fromPage(pages.other, `Bearer ${KEY}`), 'refused: TypeError');
  });
});

describe('serve --cors-origin', () => {
  it('is off by default: no CORS headers, a preflight finds no route', async () => {
    const serve = await startServe(['serve', '--port', '0', '--log-level', 'warn']);
    try {
      const preflight = await fetch(`${serve.base}/v1/predict`, {
        method: 'OPTIONS',
        headers: { origin: ALLOWED, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      });
      assert.equal(preflight.headers.get('access-control-allow-origin'), null);
      assert.equal(preflight.status, 404);
      const post = await fetch(`${serve.base}/v1/predict?top=1`, { method: 'POST', body: PHOTO, headers: { origin: ALLOWED, 'content-type': 'image/jpeg' } });
      assert.equal(post.status, 200);
      assert.equal(post.headers.get('access-control-allow-origin'), null);
    } finally {
      await serve.stop();
    }
  });

  it('takes origins repeated and comma-separated, and refuses what is not an origin', async () => {
    const serve = await startServe(['serve', '--port', '0', '--log-level', 'warn', '--cors-origin', 'http://a.test:8000,http://b.test', '--cors-origin', ALLOWED]);
    try {
      for (const origin of ['http://a.test:8000', 'http://b.test', ALLOWED]) {
        const response = await fetch(`${serve.base}/v2`, { headers: { origin } });
        assert.equal(response.headers.get('access-control-allow-origin'), origin);
      }
      assert.equal((await fetch(`${serve.base}/v2`, { headers: { origin: 'http://a.test' } })).headers.get('access-control-allow-origin'), null, 'the port is part of the origin');
    } finally {
      await serve.stop();
    }
    const run = promisify(execFile);
    for (const bad of ['https://app.example.com/', 'app.example.com', 'https://app.example.com/page']) {
      await assert.rejects(run(process.execPath, [packagePath('dist', 'cli.js'), 'serve', '--port', '0', '--cors-origin', bad], { timeout: 60_000 }), (err: { code: number; stderr: string }) => {
        assert.equal(err.code, 1);
        assert.match(err.stderr, /--cors-origin .* is not an origin/);
        return true;
      });
    }
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
