import { withSpan } from '../observability/tracing';
import { SshError } from './config';
import type { SshRunner } from './runner';

/**
 * Under tracing, each SSH session is a span, a child of the activity that opened it: the address, the user and the
 * exit code; never the command (a guest script's text is the operator's) nor its output.
 */
export function withSshSpans(runner: SshRunner): SshRunner {
  const failure = (err: unknown) => (err instanceof SshError ? `ssh.${err.kind}` : undefined);
  return {
    user: (address) => runner.user(address),
    hostKeyFingerprint: (address) =>
      withSpan(
        'ssh host-key',
        { 'server.address': address },
        () => runner.hostKeyFingerprint(address),
        failure,
      ),
    run: (address, command, opts) =>
      withSpan(
        'ssh exec',
        { 'server.address': address, 'user.name': runner.user(address) },
        async (span) => {
          const result = await runner.run(address, command, opts);
          span.setAttribute('process.exit.code', result.exitCode);
          return result;
        },
        failure,
      ),
  };
}
