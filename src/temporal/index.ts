/** Temporal servers for the demo and the tests: where the binaries come from, starting and stopping them. */
export {
  resolveTemporalCli,
  resolveTestServer,
  installHint,
  TemporalBinaryNotFoundError,
  TEMPORAL_CLI_PIP,
  TEMPORAL_TEST_SERVER_PIP,
  type ResolvedBinary,
  type TemporalCliSource,
  type TestServerSource,
} from './cli-path';
export { startDevServer, type DevServer, type DevServerOptions } from './dev-server';
export { ensureSearchAttributes, missingSearchAttributes, searchAttributeFlags } from './search-attributes';
export { createTimeSkippingEnvironment } from './time-skipping';
