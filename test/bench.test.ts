// `npm run bench -- --quick --json`, as CI runs it: it runs to the end, prints one JSON document with every section,
// and leaves nothing running. No figure is asserted: these machines are too noisy for timing assertions.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { BenchDocument } from '../scripts/bench/report';
import { MANY_MIGRATIONS_MALLOC_ENV, MANY_MIGRATIONS_NODE_FLAGS } from '../src/config';
import { processesWithMarker } from './helpers/processes';

const ROOT = path.resolve(__dirname, '..');

describe('npm run bench -- --quick --json', () => {
  it('runs every section and prints one JSON document', { timeout: 180_000 }, async () => {
    const marker = `bench-${randomUUID()}`;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'scripts', 'bench.ts'), '--quick', '--json'],
      { cwd: ROOT, env: { ...process.env, BENCH_TEST_MARKER: marker }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`the quick bench did not finish in time\n${stderr}`));
      }, 170_000);
      child.on('close', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    assert.equal(code, 0, stderr);

    const doc = JSON.parse(stdout) as BenchDocument;
    assert.equal(doc.mode, 'quick');
    for (const section of ['single', 'economy', 'batch', 'inflight'] as const)
      assert.ok(doc[section], `section ${section}`);
    for (const field of ['criticalPathMs', 'product', 'baseline'] as const)
      assert.ok(field in doc.single, `single.${field}`);
    assert.ok(doc.economy.byAction.length > 0, 'calls by action');
    assert.ok(doc.batch && 'ratio' in doc.batch && 'bound' in doc.batch, 'batch ratio and bound');
    // Quick: one database mode (the full run has both).
    assert.deepEqual(
      doc.inflight.runs.map((r) => r.db),
      ['memory'],
    );
    for (const run of doc.inflight.runs)
      for (const field of [
        'workerPeakRssMb',
        'workerCpuMsPerMigration',
        'wftScheduleToStartP99Ms',
        'throughput',
      ])
        assert.ok(field in run, `inflight.${field}`);
    // It measured migrations that ran: every one started by its batch, in flight, and verified.
    for (const run of doc.inflight.runs) {
      assert.deepEqual(
        run.workerMemoryEnv,
        MANY_MIGRATIONS_MALLOC_ENV,
        "the worker's malloc as the docs ask",
      );
      assert.deepEqual(
        run.workerNodeFlags,
        MANY_MIGRATIONS_NODE_FLAGS,
        "the worker process ran with the docs' V8 flag (read back from /proc: the bench's plumbing)",
      );
      assert.ok(run.peakInFlight > 0, 'peak in flight');
      assert.equal(run.verified, run.migrations, 'every migration of section 4 verified');
    }

    // Nothing it started lives on: dev servers, the worker process, SSH servers (in its own process).
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.deepEqual(processesWithMarker(marker), []);
  });
});
