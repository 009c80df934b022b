import { ApplicationFailure } from '@temporalio/common';
import {
  ipv4Answer,
  runGuestScript,
  type GuestScript,
  type GuestScriptRegistry,
  type GuestScriptRole,
} from '../guest-scripts';
import { EGRESS_CHECK_SCRIPT_DEFAULT } from '../shared/migration';
import { SshError, type SshRunner } from '../ssh';
import type { Execution, Observation } from './execution';
import type { GuestScriptInput, VerifyInput } from './types';

/** Release 0.1's activity inputs carried shell text in these fields. */
const SHELL_TEXT_FIELDS = ['command', 'egressCheckCommand'] as const;

/**
 * Refuses an input in release 0.1's shape (a workflow started before the upgrade): shell text from a workflow input is
 * never run, whoever started it. An unset or empty egressCheckCommand meant "the default" then, and still does.
 */
export function refuseShellText(input: object): void {
  const fields = input as Record<string, unknown>;
  const field = SHELL_TEXT_FIELDS.find((f) => f in fields && (f === 'command' || !!fields[f]));
  if (!field) return;
  throw ApplicationFailure.nonRetryable(
    `shell text in workflow input is no longer run (this input, in release 0.1's shape, has "${field}"): define a named guest script in the worker's configuration (ENI_MIGRATE_GUEST_SCRIPTS, see docs/configuration.md) and start the migration with its name (guestPrepareScript / egressCheckScript)`,
    'GuestCommandRefused',
  );
}

/** The egress check a migration uses: the one it names, or the runbook's. */
export function egressCheckScriptName(input: { egressCheckScript?: string }): string {
  return input.egressCheckScript || EGRESS_CHECK_SCRIPT_DEFAULT;
}

/** The named script, fit for `role`; otherwise a non-retryable failure naming the scripts the worker knows. */
export function scriptFor(scripts: GuestScriptRegistry, name: string, role: GuestScriptRole): GuestScript {
  const problem = scripts.problem(name, role);
  const script = scripts.find(name);
  if (problem || !script) {
    throw ApplicationFailure.nonRetryable(
      `${role}: ${problem}`,
      script ? 'UnsuitableGuestScript' : 'UnknownGuestScript',
    );
  }
  return script;
}

function excerpt(s: string): string {
  const t = s.trim();
  return t.length > 300 ? `${t.slice(0, 300)}…` : t;
}

/** Runs the named guest set-up script over SSH, on the instance's current public address. */
export async function prepareGuest(
  ssh: SshRunner,
  scripts: GuestScriptRegistry,
  input: GuestScriptInput,
): Promise<{ exitCode: number }> {
  refuseShellText(input);
  const script = scriptFor(scripts, input.script, 'guest preparation');
  if (script.nicParameters)
    throw ApplicationFailure.nonRetryable(
      `guest script "${script.name}" takes the new NIC's details as Cloud Assistant parameters: run it with guestSetup cloud-assistant (--guest-setup cloud-assistant), not over SSH`,
      'UnsuitableGuestScript',
    );
  const r = await runGuestScript(ssh, input.address, script, { expectedHostKey: input.hostKeyFingerprint });
  if (r.exitCode !== 0) {
    throw ApplicationFailure.nonRetryable(
      `guest script "${script.name}" exited with ${r.exitCode} on ${input.address}: ${excerpt(r.stderr || r.stdout)}`,
      'GuestPrepareFailed',
    );
  }
  return { exitCode: r.exitCode };
}

/** What one run of the egress check found: the IPv4 address the guest's traffic leaves from, or why there is none. */
export async function checkEgress(
  ssh: SshRunner,
  address: string,
  script: GuestScript,
  expectedHostKey?: string,
): Promise<{ egressIp?: string; problem?: string; hostKeyFingerprint: string }> {
  const r = await runGuestScript(ssh, address, script, { expectedHostKey });
  if (r.exitCode !== 0) {
    return {
      problem: `the egress check "${script.name}" exited with ${r.exitCode}: ${excerpt(r.stderr || r.stdout) || 'no output'}`,
      hostKeyFingerprint: r.hostKeyFingerprint,
    };
  }
  const answer = ipv4Answer(r.stdout);
  return {
    egressIp: answer.ip,
    problem: answer.problem && `the egress check "${script.name}" ${answer.problem}`,
    hostKeyFingerprint: r.hostKeyFingerprint,
  };
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
  scripts: GuestScriptRegistry,
  input: VerifyInput,
  x: Execution<VerifyState>,
): Promise<{ egressIp: string; attempts: number }> {
  refuseShellText(input);
  const script = scriptFor(scripts, egressCheckScriptName(input), 'egress check');
  if (x.state.deadline === 0) x.checkpoint({ deadline: Date.now() + input.timeoutSeconds * 1000 });
  return x.poll(async (): Promise<Observation<{ egressIp: string; attempts: number }>> => {
    const attempts = x.state.attempts + 1;
    let problem: string;
    try {
      const egress = await checkEgress(ssh, input.address, script, input.hostKeyFingerprint);
      const egressIp = egress.egressIp;
      if (egressIp && input.snatIps.includes(egressIp)) return { done: { egressIp, attempts } };
      problem = egressIp
        ? `traffic leaves via ${egressIp}, not the SNAT IP ${input.snatIps.join(' / ')}`
        : (egress.problem ?? 'the egress check answered no address');
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
        failed: `verification failed after ${attempts} attempts in ${input.timeoutSeconds}s: ${problem}. If the guest needs its secondary NIC set up (policy routing), start the migration with a guest preparation script, e.g. secondary-nic-setup`,
        type: 'VerificationFailed',
      };
    }
    return { pending: problem };
  });
}

export type { VerifyState };
