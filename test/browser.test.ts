// The web page in real Chromium: choose a bundled photo, see the right top-1 and five bars;
// a file that is not a photo shows the server's reason.
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { type Browser, chromium } from 'playwright-core';
import { Classifier } from '../src/classifier.js';
import { createServer } from '../src/server/app.js';
import { photos, SAMPLES_DIR } from './helpers.js';

let app: FastifyInstance;
let base: string;
let browser: Browser;

before(async () => {
  const classifier = await Classifier.create({ decoder: 'jimp' });
  app = await createServer(classifier, {
    modelVersion: '1', maxBatch: 4, maxDelayMs: 5, maxQueue: 16, decodeWorkers: 1, maxBody: 8 * 1024 * 1024, timeoutMs: 30_000,
  });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  await app?.close();
});

describe('web page', () => {
  it('shows the top-5 of an uploaded photo, best first', async () => {
    const page = await browser.newPage();
    const external: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith(base) && !request.url().startsWith('blob:')) external.push(request.url());
    });
    await page.goto(base);
    const [photo] = photos(SAMPLES_DIR); // n01530575_brambling.JPEG
    await page.setInputFiles('#file', photo);
    await page.locator('#results .row').first().waitFor();
    assert.equal(await page.locator('#results .row').count(), 5);
    assert.equal(await page.locator('#results .row .label').first().textContent(), 'brambling');
    assert.match((await page.locator('#results .row .pct').first().textContent())!, /^\d+\.\d%$/);
    assert.equal(await page.locator('#preview').isVisible(), true);
    assert.equal(await page.locator('#error').textContent(), '');
    assert.deepEqual(external, [], 'the page loads nothing from elsewhere');
    await page.close();
  });

  it('shows the reason plainly when the file is not a photo', async () => {
    const page = await browser.newPage();
    await page.goto(base);
    const notes = join(mkdtempSync(join(tmpdir(), 'pytorch-infer-')), 'notes.jpg');
    writeFileSync(notes, 'not a photo');
    await page.setInputFiles('#file', notes);
    await page.locator('#error:not(:empty)').waitFor();
    assert.match((await page.locator('#error').textContent())!, /^Error: Input is not an image/);
    assert.equal(await page.locator('#results .row').count(), 0);
    await page.close();
  });
});
