/**
 * What one worker process keeps in memory (docs/configuration.md, docs/benchmarks.md section 4): the migrations it keeps
 * cached between their steps (ENI_MIGRATE_MAX_CACHED_WORKFLOWS), checked on the workers the product builds
 * (createMigrationWorker), on a real server.
 */
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import { after, before, describe, it } from 'node:test';
import { ConfigError, describeConfig, loadConfig } from '../src/config';
import { createMigrationWorker } from '../src/worker';
import { startTestTemporal, type TestTemporal } from './helpers/temporal';

describe('ENI_MIGRATE_MAX_CACHED_WORKFLOWS', () => {
  it('is read, shown at start, and refused with the fix when it is not a count of at least 2', () => {
    assert.equal(loadConfig({ ENI_MIGRATE_MAX_CACHED_WORKFLOWS: '40' }).maxCachedWorkflows, 40);
    assert.equal(loadConfig({}).maxCachedWorkflows, undefined);
    assert.match(String(describeConfig(loadConfig({})).maxCachedWorkflows), /the SDK's default/);
    assert.equal(
      describeConfig(loadConfig({ ENI_MIGRATE_MAX_CACHED_WORKFLOWS: '40' })).maxCachedWorkflows,
      40,
    );
    for (const [value, why] of [
      ['many', /must be a number of workflows, e\.g\. 1000/],
      ['2.5', /whole number/],
      ['-1', /must be ≥ 0/],
    ] as const)
      assert.throws(
        () => loadConfig({ ENI_MIGRATE_MAX_CACHED_WORKFLOWS: value }),
        (err: unknown) =>
          err instanceof ConfigError &&
          err.message.includes('ENI_MIGRATE_MAX_CACHED_WORKFLOWS') &&
          why.test(err.message),
      );
  });
});

describe("a worker's capacity", () => {
  let temporal: TestTemporal;
  before(async () => {
    temporal = await startTestTemporal();
  });
  after(() => temporal?.stop());

  const workerWith = async (env: NodeJS.ProcessEnv) => {
    const config = loadConfig({
      TEMPORAL_ADDRESS: temporal.server.address,
      TEMPORAL_NAMESPACE: temporal.server.namespace,
      ALIBABA_CLOUD_REGION_ID: 'cn-hangzhou',
      ALIBABA_CLOUD_ECS_ENDPOINT: 'http://127.0.0.1:9',
      ALIBABA_CLOUD_VPC_ENDPOINT: 'http://127.0.0.1:9',
      ...env,
    });
    const built = await createMigrationWorker({
      config,
      log: () => undefined,
      registerSearchAttributes: false,
    });
    // Created workers hold the connection until they have run: run them for an instant.
    await built.worker.runUntil(Promise.resolve());
    await built.close();
    return built.worker.workers;
  };

  it("keeps the SDK's default number of migrations in memory, or the number set", async () => {
    const [main] = await workerWith({});
    // The SDK's: 600 per GB of heap beyond 200 MB (at least 10).
    const heapMb = v8.getHeapStatistics().heap_size_limit / 2 ** 20;
    assert.equal(main.options.maxCachedWorkflows, Math.max(Math.floor(((heapMb - 200) * 600) / 1024), 10));
    const [tuned] = await workerWith({ ENI_MIGRATE_MAX_CACHED_WORKFLOWS: '40' });
    assert.equal(tuned.options.maxCachedWorkflows, 40);
  });
});
