import {
  TestWorkflowEnvironment,
  type TimeSkippingTestWorkflowEnvironmentOptions,
} from '@temporalio/testing';
import { resolveTestServer, withSdkDownload } from './cli-path';

/**
 * A time-skipping test environment (the Java test server): timers of days complete in milliseconds while a
 * workflow's result is awaited. Uses the installed `temporal-test-server`, else the SDK's download (internet).
 * Time is global to the environment: run its tests serially. Call `teardown()` when done.
 */
export async function createTimeSkippingEnvironment(
  opts: Omit<TimeSkippingTestWorkflowEnvironmentOptions, 'server'> & { extraArgs?: string[] } = {},
): Promise<TestWorkflowEnvironment> {
  const { extraArgs, ...rest } = opts;
  const server = await resolveTestServer();
  if (server.source !== 'sdk-download') {
    return TestWorkflowEnvironment.createTimeSkipping({
      ...rest,
      server: { executable: { type: 'existing-path', path: server.path }, extraArgs },
    });
  }
  return withSdkDownload(
    'test-server',
    () => TestWorkflowEnvironment.createTimeSkipping({ ...rest, server: { extraArgs } }),
    (late) => late.teardown(),
  );
}
