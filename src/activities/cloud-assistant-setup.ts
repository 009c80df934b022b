import { ApplicationFailure } from '@temporalio/common';
import type { EcsApi } from '../cloud/ecs';
import { classifyCode } from '../cloud/errors';
import type { VpcApi } from '../cloud/vpc';
import type { GuestScript, GuestScriptRegistry } from '../guest-scripts';
import type { Execution, Observation } from './execution';
import { scriptFor } from './guest';
import type { CloudAssistantSetupInput, GuestSetupResult } from './types';

/** States of an invocation on an instance that are still on their way to a result [doc: DescribeInvocationResults]. */
const UNDER_WAY = new Set(['Pending', 'Running', 'Scheduled', 'Stopping']);

function excerpt(s: string): string {
  const t = s.trim();
  return t.length > 300 ? `${t.slice(0, 300)}…` : t;
}

/** The ClientToken purpose of the RunCommand request. */
const PURPOSE = 'guest-setup';

/**
 * After step 3: runs the guest set-up script in the instance through Cloud Assistant (RunCommand) and waits for its
 * result (DescribeInvocationResults). The invocation's id is checkpointed before the wait: a retry after a lost worker
 * waits for the same run, never a second. A run that ended for a passing reason (the error table's retryable
 * ErrorCodes: the agent did not answer, delivery timed out, the agent was upgrading) fails the attempt retryably and
 * is forgotten, its token spent, so that the retry starts a new run (the set-up scripts are idempotent). Any other end
 * but Success (the script failed, the agent is not running...) fails the step, and the saga undoes steps 3 and 2.
 */
export async function setUpGuestByCloudAssistant(
  deps: { ecs: EcsApi; vpc: VpcApi; scripts: GuestScriptRegistry },
  input: CloudAssistantSetupInput,
  x: Execution<{ invokeId?: string }>,
): Promise<GuestSetupResult> {
  const { ecs } = deps;
  const script = scriptFor(deps.scripts, input.script, 'guest preparation');
  if (!x.state.invokeId) {
    const parameters = script.nicParameters ? await nicParameters(deps, input) : undefined;
    // The same token while the outcome is unknown: a retry after a lost response gets the first invocation, never a
    // second run; a new one after a refusal the cloud answered (which it would answer again for that token).
    const { invokeId } = await x.withClientToken(PURPOSE, (clientToken) =>
      ecs.runShellScript({
        instanceId: input.instanceId,
        name: `eni-migration-${script.name}`,
        script: script.command,
        parameters,
        timeoutSeconds: input.timeoutSeconds ?? 120,
        clientToken,
      }),
    );
    x.requested('command', { invokeId });
  }
  const invokeId = x.state.invokeId!;
  return x.poll(async (): Promise<Observation<GuestSetupResult>> => {
    const r = await ecs.invocationResult(invokeId, input.instanceId);
    if (!r || UNDER_WAY.has(r.status))
      return { pending: `Cloud Assistant ${invokeId} is ${r?.status ?? 'not listed yet'}` };
    const output = excerpt(r.output);
    if (r.status === 'Success')
      return {
        done: {
          via: 'cloud-assistant',
          script: script.name,
          invokeId,
          status: r.status,
          exitCode: r.exitCode ?? 0,
          output,
        },
      };
    const why = failure(script, input.instanceId, invokeId, r);
    if (r.errorCode && passing(r.errorCode)) {
      // The next attempt runs the script anew: a new token (the same one would return this run), no invocation id.
      x.spendClientToken(PURPOSE, { invokeId: undefined });
      return { failed: `${why}; the retry runs it again`, type: r.errorCode, retryable: true };
    }
    return { failed: why, type: 'GuestPrepareFailed' };
  });
}

/**
 * An invocation's ErrorCode that a new run may not meet (ClientNotResponse, DeliveryTimeout, ClientIsUpgrading), by the
 * one error table. A code the table does not know is taken as final (as a 4xx would be), not as a passing one.
 */
function passing(errorCode: string): boolean {
  return classifyCode(errorCode, 400).retryable;
}

function failure(
  script: GuestScript,
  instanceId: string,
  invokeId: string,
  r: { status: string; exitCode?: number; output: string; errorCode: string; errorInfo: string },
): string {
  const fix = r.errorCode ? classifyCode(r.errorCode).fix : undefined;
  const why = [
    `status ${r.status}`,
    r.exitCode !== undefined && r.errorCode === 'ExitCodeNonzero' ? `exit code ${r.exitCode}` : undefined,
    r.errorCode ? `${r.errorCode}: ${r.errorInfo}` : undefined,
  ].filter(Boolean);
  const output = excerpt(r.output);
  return `guest script "${script.name}" through Cloud Assistant (${invokeId}) on ${instanceId}: ${why.join(', ')}${output ? `; output: ${output}` : ''}${fix ? `; ${fix}` : ''}`;
}

/**
 * The new NIC as the guest sees it: its device (eth<DeviceIndex>), the ENI's address and prefix length, the vSwitch's
 * gateway (its last usable address but one, x.x.x.253 in a /24), and a routing table of its own (1000 + index).
 */
async function nicParameters(
  deps: { ecs: EcsApi; vpc: VpcApi },
  input: CloudAssistantSetupInput,
): Promise<Record<string, string>> {
  const eni = await deps.ecs.describeNetworkInterface(input.networkInterfaceId);
  const vsw = eni?.vSwitchId ? await deps.vpc.describeVSwitch(eni.vSwitchId) : undefined;
  if (!eni?.privateIpAddress || eni.deviceIndex === undefined || !vsw)
    throw ApplicationFailure.nonRetryable(
      `ENI ${input.networkInterfaceId} is not attached with an address in a known vSwitch: cannot set its NIC up`,
      'GuestPrepareFailed',
    );
  const [base, bits] = vsw.cidrBlock.split('/');
  const prefix = Number(bits);
  const baseInt = base.split('.').reduce((n, o) => n * 256 + Number(o), 0);
  const gatewayInt = baseInt + 2 ** (32 - prefix) - 3;
  const gateway = [24, 16, 8, 0].map((s) => Math.floor(gatewayInt / 2 ** s) % 256).join('.');
  return {
    device: `eth${eni.deviceIndex}`,
    address: eni.privateIpAddress,
    prefixLength: String(prefix),
    gateway,
    table: String(1000 + eni.deviceIndex),
  };
}
