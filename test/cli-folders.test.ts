// predict at folder scale, as a user runs it: a child process (node dist/cli.js), real photos
// and folders on disk, the genuine model.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { packagePath } from '../src/paths.js';
import { photos, SAMPLES_DIR, trueIndex } from './helpers.js';

const CLI = packagePath('dist', 'cli.js');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the CLI with `input` on its stdin (none: stdin is empty). `permissionsBind`: as root, without
 * the capabilities that let root read past file modes (setpriv), so unreadable files stay unreadable
 * while the package itself, wherever it is checked out, stays root's to read.
 */
function cli(args: string[], options: { input?: Uint8Array | string; permissionsBind?: boolean } = {}): Promise<Result> {
  const dropRead = options.permissionsBind && process.getuid?.() === 0;
  const caps = '-dac_override,-dac_read_search';
  const [command, ...prefix] = dropRead ? ['setpriv', `--inh-caps=${caps}`, `--bounding-set=${caps}`, process.execPath] : [process.execPath];
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...prefix, CLI, ...args]);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
    child.stdin.end(options.input);
  });
}

const jsonLines = (stdout: string) => stdout.trim().split('\n').map((line) => JSON.parse(line) as { file: string; predictions?: { index: number }[]; error?: string });

/** A new folder anyone can read (the unreadable-input test runs the CLI as another user). */
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pytorch-infer-folders-'));
  chmodSync(dir, 0o755);
  return dir;
}

const [BRAMBLING, CHOW] = ['n01530575_brambling.JPEG', 'n02112137_chow.JPEG'].map((name) => join(SAMPLES_DIR, name));
const BRAMBLING_INDEX = trueIndex(BRAMBLING);
const CHOW_INDEX = trueIndex(CHOW);

describe('predict on folders, stdin and lists', () => {
  it('walks a folder recursively in name order, skips hidden entries and tells photos by content, not by name', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'a'));
    mkdirSync(join(dir, '.cache'));
    copyFileSync(CHOW, join(dir, 'a', 'z.jpg'));
    copyFileSync(BRAMBLING, join(dir, 'b.JPEG'));
    copyFileSync(BRAMBLING, join(dir, '.thumbnail.jpg'));
    copyFileSync(CHOW, join(dir, '.cache', 'chow.jpg'));
    await sharp(CHOW).png().toFile(join(dir, 'chow.data')); // a PNG without an image extension
    writeFileSync(join(dir, 'notes.jpg'), 'a text file named like a photo\n');
    const { code, stdout } = await cli(['predict', '--json', '--decoder', 'sharp', dir]);
    assert.equal(code, 1, 'notes.jpg failed');
    const lines = jsonLines(stdout);
    assert.deepEqual(lines.map((l) => l.file), ['a/z.jpg', 'b.JPEG', 'chow.data', 'notes.jpg'].map((f) => join(dir, f)));
    assert.deepEqual(lines.slice(0, 3).map((l) => l.predictions![0].index), [CHOW_INDEX, BRAMBLING_INDEX, CHOW_INDEX]);
    assert.match(lines[3].error!, /not an image/i);
  });

  it('classifies one photo on stdin as -, and fails an empty stdin instead of printing nothing', async () => {
    const piped = await cli(['predict', '--json', '-'], { input: readFileSync(CHOW) });
    assert.equal(piped.code, 0, piped.stderr);
    const [line] = jsonLines(piped.stdout);
    assert.equal(line.file, '-');
    assert.equal(line.predictions![0].index, CHOW_INDEX);
    const empty = await cli(['predict', '--json', '-']);
    assert.equal(empty.code, 1);
    assert.deepEqual(jsonLines(empty.stdout), [{ file: '-', error: 'Input is empty (0 bytes)' }]);
  });

  it('reads paths from --files-from FILE and from stdin, after the positional photos', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'folder'));
    copyFileSync(CHOW, join(dir, 'folder', 'chow.jpg'));
    const list = join(dir, 'list.txt');
    writeFileSync(list, `${join(dir, 'folder')}\n\n${BRAMBLING}\r\n`);
    const expected = [CHOW, join(dir, 'folder', 'chow.jpg'), BRAMBLING];
    for (const [args, input] of [[['--files-from', list]], [['--files-from', '-'], readFileSync(list)]] as const) {
      const { code, stdout, stderr } = await cli(['predict', '--json', '--decoder', 'sharp', CHOW, ...args], { input });
      assert.equal(code, 0, stderr);
      const lines = jsonLines(stdout);
      assert.deepEqual(lines.map((l) => l.file), expected);
      assert.deepEqual(lines.map((l) => l.predictions![0].index), [CHOW_INDEX, CHOW_INDEX, BRAMBLING_INDEX]);
    }
    const missing = await cli(['predict', '--files-from', join(dir, 'nope.txt')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot read --files-from .*nope\.txt: no such file/);
    writeFileSync(list, '\n');
    const none = await cli(['predict', '--files-from', list]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /lists no paths/);
    assert.equal(none.stdout, '');
  });

  it('reports each bad input in the stream and goes on: broken link, empty folder, FIFO, missing path, non-image', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'empty'));
    mkdirSync(join(dir, 'only-hidden'));
    writeFileSync(join(dir, 'only-hidden', '.DS_Store'), '');
    symlinkSync(join(dir, 'gone.jpg'), join(dir, 'broken.jpg'));
    execFileSync('mkfifo', [join(dir, 'pipe.jpg')]);
    writeFileSync(join(dir, 'readme.txt'), 'not a photo');
    copyFileSync(CHOW, join(dir, 'zz-chow.jpg'));
    const { code, stdout } = await cli(['predict', '--json', '--decoder', 'sharp', dir, join(dir, 'missing.jpg'), BRAMBLING]);
    assert.equal(code, 1);
    const byName = new Map(jsonLines(stdout).map((l) => [l.file.replace(`${dir}/`, ''), l]));
    assert.deepEqual([...byName.keys()], ['broken.jpg', 'empty', 'only-hidden', 'pipe.jpg', 'readme.txt', 'zz-chow.jpg', 'missing.jpg', BRAMBLING]);
    assert.match(byName.get('broken.jpg')!.error!, /broken symbolic link/);
    assert.match(byName.get('empty')!.error!, /is empty: no photos in it$/);
    assert.match(byName.get('only-hidden')!.error!, /is empty.*only hidden files/);
    assert.match(byName.get('pipe.jpg')!.error!, /not a regular file/);
    assert.match(byName.get('readme.txt')!.error!, /not an image/i);
    assert.match(byName.get('missing.jpg')!.error!, /no such file or folder/);
    assert.equal(byName.get('zz-chow.jpg')!.predictions![0].index, CHOW_INDEX);
    assert.equal(byName.get(BRAMBLING)!.predictions![0].index, BRAMBLING_INDEX);
  });

  it('reports unreadable files and folders (permission denied) and goes on', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'locked'));
    copyFileSync(CHOW, join(dir, 'locked', 'chow.jpg'));
    copyFileSync(CHOW, join(dir, 'secret.jpg'));
    copyFileSync(BRAMBLING, join(dir, 'zz-brambling.jpg'));
    chmodSync(join(dir, 'locked'), 0);
    chmodSync(join(dir, 'secret.jpg'), 0);
    const { code, stdout } = await cli(['predict', '--json', '--backend', 'onnx', '--decoder', 'sharp', dir], { permissionsBind: true });
    assert.equal(code, 1);
    const lines = jsonLines(stdout);
    assert.deepEqual(lines.map((l) => l.file), ['locked', 'secret.jpg', 'zz-brambling.jpg'].map((f) => join(dir, f)));
    assert.match(lines[0].error!, /cannot read folder .*locked: permission denied/);
    assert.match(lines[1].error!, /cannot read .*secret\.jpg: permission denied/);
    assert.equal(lines[2].predictions![0].index, BRAMBLING_INDEX);
  });

  it('answers 300 photos in input order, each with its own classes', async () => {
    const dir = tempDir();
    const reference = JSON.parse(readFileSync(packagePath('test', 'fixtures', 'reference', 'reference.json'), 'utf8')) as {
      photos: { file: string; float: { top5: number[] } }[];
    };
    const top1 = new Map(reference.photos.map((p) => [p.file, p.float.top5[0]]));
    for (let copy = 1; copy <= 3; copy++) for (const file of photos()) symlinkSync(file, join(dir, `${copy}-${file.split('/').pop()}`));
    const names = readdirSync(dir).sort();
    assert.equal(names.length, 300);
    const { code, stdout, stderr } = await cli(['predict', '--json', '--decoder', 'sharp', dir]);
    assert.equal(code, 0, stderr);
    const lines = jsonLines(stdout);
    assert.deepEqual(lines.map((l) => l.file), names.map((n) => join(dir, n)));
    // sharp decodes as PIL does: every top-1 is the PyTorch reference's for that photo.
    for (const [i, line] of lines.entries()) assert.equal(line.predictions![0].index, top1.get(names[i].slice(2)), line.file);
    assert.match(stderr, /^predict: 300 photos, 0 failed, [\d.]+ s, [\d.]+ img\/s$/m);
  });
});

describe('predict output', () => {
  it('--format table keeps failed photos in the stream; csv is a line per photo; --json is jsonl', async () => {
    const dir = tempDir();
    const bad = join(dir, 'bad.jpg');
    writeFileSync(bad, 'x');
    const table = await cli(['predict', '--format', 'table', CHOW, bad]);
    assert.equal(table.code, 1);
    const [chow, failed] = table.stdout.trimEnd().split(/\n(?=\S)/);
    assert.match(chow, new RegExp(`^${CHOW}\n  chow +\\d+\\.\\d%\n`));
    assert.equal(failed.split('\n')[0], bad);
    assert.match(failed.split('\n')[1], /^ {2}error: Input is not an image/);

    const csv = await cli(['predict', '--format', 'csv', '--top', '2', CHOW, bad]);
    assert.equal(csv.code, 1);
    const [header, ok, error, ...rest] = csv.stdout.split('\r\n');
    assert.equal(header, 'file,label_1,index_1,probability_1,label_2,index_2,probability_2,error');
    assert.match(ok, new RegExp(`^${CHOW},chow,${CHOW_INDEX},0\\.\\d+,[^,]+,\\d+,0\\.\\d+,$`));
    assert.equal(error, `${bad},,,,,,,"Input is not an image: its first bytes match none of JPEG, PNG, GIF, BMP, TIFF, WebP"`);
    assert.deepEqual(rest, ['']);

    const [json, jsonl] = await Promise.all([cli(['predict', '--json', CHOW]), cli(['predict', '--format', 'jsonl', CHOW])]);
    assert.equal(json.stdout, jsonl.stdout);
    assert.equal(jsonLines(json.stdout)[0].predictions![0].index, CHOW_INDEX);
  });

  it('--output writes the file whole, through a temporary file, and leaves stdout empty', async () => {
    const dir = tempDir();
    const out = join(dir, 'results.jsonl');
    writeFileSync(out, 'old results\n');
    const { code, stdout } = await cli(['predict', '--json', '-o', out, CHOW, BRAMBLING]);
    assert.equal(code, 0);
    assert.equal(stdout, '');
    assert.deepEqual(jsonLines(readFileSync(out, 'utf8')).map((l) => l.predictions![0].index), [CHOW_INDEX, BRAMBLING_INDEX]);
    assert.deepEqual(readdirSync(dir), ['results.jsonl'], 'no temporary file left');
    const unwritable = await cli(['predict', '-o', join(dir, 'no-such-folder', 'out.csv'), CHOW]);
    assert.equal(unwritable.code, 1);
    assert.match(unwritable.stderr, /cannot write --output .*out\.csv/);
    assert.equal(existsSync(join(dir, 'no-such-folder')), false);
  });

  it('draws progress on stderr when asked, never on stdout, and always ends with a summary', async () => {
    const forced = await cli(['predict', '--json', '--progress', '--decoder', 'sharp', CHOW, BRAMBLING, join(SAMPLES_DIR, 'missing.jpg')]);
    assert.equal(forced.code, 1);
    assert.equal(jsonLines(forced.stdout).length, 3, 'stdout is JSON lines only');
    assert.match(forced.stderr, /\[#*\.*\] \d\/3 photos {2}[\d.]+ photos\/s {2}ETA \d+:\d\d/);
    assert.match(forced.stderr, /^predict: 3 photos, 1 failed, [\d.]+ s, [\d.]+ img\/s$/m);
    const quiet = await cli(['predict', '--json', '--no-progress', CHOW]);
    assert.equal(quiet.code, 0);
    assert.doesNotMatch(quiet.stderr, /photos\/s/);
    assert.match(quiet.stderr, /^predict: 1 photo, 0 failed/m);
  });

  it('exits 2 on usage errors: nothing to classify, stdin twice, --json with another format', async () => {
    for (const args of [['predict'], ['predict', '-', '--files-from', '-'], ['predict', '-', '-'], ['predict', '--json', '--format', 'csv', CHOW]]) {
      const { code, stderr, stdout } = await cli(args);
      assert.equal(code, 2, args.join(' '));
      assert.match(stderr, /^error: .+\nRun with --help for usage\./);
      assert.equal(stdout, '');
    }
  });
});
