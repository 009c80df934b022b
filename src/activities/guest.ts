import { ApplicationFailure } from '@temporalio/common';
import { EGRESS_CHECK_COMMAND_DEFAULT } from '../shared/migration';
import { SshError, type SshRunner } from '../ssh';
import type { Execution, Observation } from './execution';
import type { GuestCommandInput, VerifyInput } from './types';

/** The command that shows the address the instance's traffic leaves from: the caller's, or the runbook's. */
export function egressCheckCommand(input: { egressCheckCommand?: string }): string {
  return input.egressCheckCommand || EGRESS_CHECK_COMMAND_DEFAULT;
}

/** The first IPv4 address in a text, e.g. "当前 IP：47.1.2.3  来自于：..." -> 47.1.2.3. */
export function firstIpv4(text: string): string | undefined {
  return /\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b/.exec(text)?.[0];
}

function excerpt(s: string): string {
  const t = s.trim();
  return t.length > 300 ? `${t.slice(0, 300)}…` : t;
}

/** Runs the caller's guest network set-up command over SSH, on the instance's current public address. */
export async function prepareGuest(ssh: SshRunner, input: GuestCommandInput): Promise<{ exitCode: number }> {
  const r = await ssh.run(input.address, input.command, { expectedHostKey: input.hostKeyFingerprint });
  if (r.exitCode !== 0) {
    throw ApplicationFailure.nonRetryable(
      `guest preparation command exited with ${r.exitCode} on ${input.address}: ${excerpt(r.stderr || r.stdout)}`,
      'GuestPrepareFailed',
    );
  }
  return { exitCode: r.exitCode };
}

interface VerifyState {
  /** Epoch ms; kept in the checkpoint so a retried attempt does not extend the budget. */
  deadline: number;
  attempts: number;
  lastProblem: string;
}

/**
 * Step 6: SSH on the EIP reaches the same machine (same host key as on the old public IP) and its traffic leaves
 * through the SNAT IP. Guest networking can lag behind the API, so this polls until the caller's budget runs out.
 */
export async function verifyMigration(
  ssh: SshRunner,
  input: VerifyInput,
  x: Execution<VerifyState>,
): Promise<{ egressIp: string; attempts: number }> {
  if (x.state.deadline === 0) x.checkpoint({ deadline: Date.now() + input.timeoutSeconds * 1000 });
  return x.poll(async (): Promise<Observation<{ egressIp: string; attempts: number }>> => {
    const attempts = x.state.attempts + 1;
    let problem: string;
    try {
      const r = await ssh.run(input.address, egressCheckCommand(input), {
        expectedHostKey: input.hostKeyFingerprint,
      });
      const egressIp = firstIpv4(r.stdout);
      if (egressIp && input.snatIps.includes(egressIp)) return { done: { egressIp, attempts } };
      problem = egressIp
        ? `traffic leaves via ${egressIp}, not the SNAT IP ${input.snatIps.join(' / ')}`
        : `the egress check answered no address (exit ${r.exitCode}: ${excerpt(r.stderr || r.stdout) || 'no output'})`;
    } catch (err) {
      if (!(err instanceof SshError)) throw err;
      if (err.kind === 'host-key-mismatch') {
        // A different machine answers on the EIP: never "retry until it passes".
        return {
          failed: `${err.message}: the EIP does not reach the migrated instance`,
          type: 'HostKeyMismatch',
        };
      }
      if (err.kind === 'auth' || err.kind === 'config')
        return { failed: err.message, type: `Ssh.${err.kind}` };
      problem = `SSH on ${input.address}: ${err.message}`;
    }
    x.checkpoint({ attempts, lastProblem: problem });
    if (Date.now() >= x.state.deadline) {
      return {
        failed: `verification failed after ${attempts} attempts in ${input.timeoutSeconds}s: ${problem}. If the guest needs policy routing for the secondary NIC, pass a guest preparation command`,
        type: 'VerificationFailed',
      };
    }
    return { pending: problem };
  });
}

export type { VerifyState };
