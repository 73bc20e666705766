// The server-CPU accounting of bench/http-vs-python.ts against real processes that burn a known
// amount of CPU time (measured by their own process.cpuUsage(), so a busy machine only slows
// the test down).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { treeCpuMs } from '../src/bench/tree-cpu.js';

// Burns `ms` of its own CPU time (user + system).
const burn = (ms: number) => `{ const t = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; }; const s = t(); while (t() - s < ${ms}) {} }`;

// A parent that burns 200 ms, starts a child that burns 300 ms and exits (and is waited for), and
// one that burns 400 ms and stays alive; then it says "ready" and waits to be killed.
const PARENT = `
const { spawn } = require('node:child_process');
const child = (code) => spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
${burn(200)}
const done = child(${JSON.stringify(burn(300))});
const alive = child(${JSON.stringify(`${burn(400)} console.log('burnt'); setInterval(() => {}, 1000);`)});
let pending = 2;
const one = () => { if (--pending === 0) console.log('ready'); };
done.on('exit', one);
alive.stdout.on('data', one);
process.on('SIGTERM', () => { alive.kill(); process.exit(0); });
`;

describe('treeCpuMs', () => {
  it('counts a process, its live children and its exited ones', { timeout: 60_000 }, async () => {
    const parent = spawn(process.execPath, ['-e', PARENT], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const [chunk] = (await once(parent.stdout!, 'data')) as [Buffer];
      assert.equal(chunk.toString().trim(), 'ready');
      const ms = treeCpuMs(parent.pid!);
      // 900 ms burnt on purpose, plus three Node start-ups; far below the machine's total.
      assert.ok(ms >= 900, `${ms} ms: a process of the tree was missed`);
      assert.ok(ms < 900 + 3000, `${ms} ms: more than the tree was counted`);
    } finally {
      parent.kill('SIGTERM');
      await once(parent, 'exit');
    }
  });

  it('refuses a process that is not running', () => {
    assert.throws(() => treeCpuMs(2 ** 22 + 1), /not running/);
  });
});
