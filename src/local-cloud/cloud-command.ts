/**
 * The body of `eni-migrate cloud`: start the local cloud, print ONE JSON line (endpoint, credentials, ssh_config,
 * instances) on stdout for scripts to read, serve until SIGINT/SIGTERM, stop cleanly. Diagnostics go to stderr.
 */
import { FAST_TIMINGS, startLocalCloud, type LocalCloudOptions } from './index';

export interface CloudCommandOptions extends LocalCloudOptions {
  /** Log one line per API call on stderr. */
  verbose?: boolean;
  /** Test-speed transitions (FAST_TIMINGS) under any explicit timings. */
  fast?: boolean;
}

export async function runCloudCommand(opts: CloudCommandOptions): Promise<void> {
  const { verbose, fast, ...cloudOpts } = opts;
  const cloud = await startLocalCloud({
    ...cloudOpts,
    timings: fast ? { ...FAST_TIMINGS, ...cloudOpts.timings } : cloudOpts.timings,
    requestLog: verbose ? (line) => process.stderr.write(`${line}\n`) : cloudOpts.requestLog,
  });
  process.stdout.write(`${JSON.stringify(cloud.info())}\n`);

  // A second signal while stopping means "now": leave at once rather than hang.
  const force = (): never => process.exit(130);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    const onSignal = (s: NodeJS.Signals): void => {
      process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
      process.once('SIGINT', force).once('SIGTERM', force);
      resolve(s);
    };
    process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  });
  if (verbose) process.stderr.write(`local cloud: ${signal}, stopping\n`);
  try {
    await cloud.stop();
  } finally {
    process.off('SIGINT', force).off('SIGTERM', force);
  }
}
