// The web page in real Chromium: choose a bundled photo, see the right top-1 and five bars;
// a file that is not a photo shows the server's reason; with a model repository, the selector
// lists the models that serve and the answer comes from the one chosen.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { type Browser, chromium } from 'playwright-core';
import { Classifier } from '../src/classifier.js';
import { createServer } from '../src/server/app.js';
import { packagePath } from '../src/paths.js';
import { photos, SAMPLES_DIR } from './helpers.js';

let app: FastifyInstance;
let repositoryApp: FastifyInstance;
let base: string;
let repositoryBase: string;
let browser: Browser;

const SERVER = { maxBatch: 4, maxDelayMs: 5, maxQueue: 16, decodeWorkers: 1, maxBody: 8 * 1024 * 1024, timeoutMs: 30_000 };

/** mobilenet, the ResNet-18 fixture (10 classes) as default, and a folder that cannot load. */
function repository(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pytorch-infer-page-'));
  const link = (name: string, files: Record<string, string>) => {
    mkdirSync(join(dir, name));
    for (const [file, target] of Object.entries(files)) symlinkSync(target, join(dir, name, file));
  };
  const resnet = packagePath('test', 'fixtures', 'models', 'resnet18-10');
  link('mobilenet', { 'model.pt': packagePath('model', 'traced_model.pt'), 'labels.txt': packagePath('model', 'class_names.txt') });
  link('resnet18', { 'model.pt': join(resnet, 'model.pt'), 'labels.txt': join(resnet, 'labels.txt'), 'config.json': join(resnet, 'config.json') });
  link('broken', { 'labels.txt': packagePath('model', 'class_names.txt') });
  return dir;
}

before(async () => {
  const classifier = await Classifier.create({ decoder: 'jimp' });
  app = await createServer(classifier, { modelVersion: '1', ...SERVER });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  repositoryApp = await createServer(
    { repository: repository(), classifier: { decoder: 'jimp' }, threading: () => ({ threads: 1, lanes: 1 }), defaultModel: 'resnet18' },
    SERVER,
  );
  repositoryBase = await repositoryApp.listen({ host: '127.0.0.1', port: 0 });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  await app?.close();
  await repositoryApp?.close();
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

  it('lists the models that serve, the default chosen, and answers from the model chosen', async () => {
    const page = await browser.newPage();
    await page.goto(repositoryBase);
    await page.locator('#model option').nth(1).waitFor({ state: 'attached' });
    assert.deepEqual(await page.locator('#model option').allTextContents(), ['mobilenet · 1000 classes · 224×224', 'resnet18 · 10 classes · 160×160']);
    assert.equal(await page.locator('#model').inputValue(), 'resnet18');
    const [photo] = photos(SAMPLES_DIR); // n01530575_brambling.JPEG
    await page.setInputFiles('#file', photo);
    await page.locator('#status', { hasText: /^resnet18 · / }).waitFor();
    const resnetLabels = (await page.locator('#results .row .label').allTextContents());
    assert.equal(resnetLabels.length, 5);
    for (const label of resnetLabels) assert.ok(['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'].includes(label), label);
    // Choosing another model classifies the same photo again, with that model.
    await page.selectOption('#model', 'mobilenet');
    await page.locator('#status', { hasText: /^mobilenet · / }).waitFor();
    assert.equal(await page.locator('#results .row .label').first().textContent(), 'brambling');
    assert.equal(await page.locator('#error').textContent(), '');
    await page.close();
  });

  it('has a selector of the one model when there is one', async () => {
    const page = await browser.newPage();
    await page.goto(base);
    await page.locator('#model option').first().waitFor({ state: 'attached' });
    assert.deepEqual(await page.locator('#model option').allTextContents(), ['traced_model · 1000 classes · 224×224']);
    await page.close();
  });
});
