import type { EcsApi, Instance } from '../cloud/ecs';
import { nicSetupScriptFor, type GuestScriptRegistry } from '../guest-scripts';
import type { MigrationPlan } from './types';

/**
 * Preflight for the guest step through Cloud Assistant (`guestSetup: cloud-assistant`): the agent is installed and
 * running in the instance (DescribeCloudAssistantStatus), and a set-up script fits its OS: the one the migration names,
 * or the built-in one for its OS family. Read-only; a refusal names the cause and the fix.
 */
export async function checkCloudAssistant(
  ecs: EcsApi,
  instance: Instance,
  scripts: GuestScriptRegistry,
  named: string | undefined,
  plan: Partial<MigrationPlan>,
  check: (name: string, ok: boolean, detail: string) => boolean,
): Promise<void> {
  const agent = await ecs.cloudAssistantAgent(instance.instanceId);
  const otherRoute =
    'or set the guest up over SSH (--guest-setup ssh with --guest-prepare-script), or skip it for an image that configures a secondary NIC by itself (--guest-setup none)';
  check(
    'Cloud Assistant agent running',
    !!agent?.running,
    agent?.running
      ? `agent ${agent.version ?? ''} sends heartbeats`.replace('  ', ' ')
      : instance.status !== 'Running'
        ? `${instance.instanceId} is ${instance.status}: Cloud Assistant runs commands only in a Running instance; start it, or set the guest up another way (--guest-setup none for an image that configures a secondary NIC by itself, or --guest-setup ssh)`
        : agent?.installed
          ? `the Cloud Assistant agent in ${instance.instanceId} sends no heartbeat (not running): start it in the guest (systemctl restart aliyun.service), ${otherRoute}`
          : `the Cloud Assistant agent is not installed in ${instance.instanceId}: install it (ECS InstallCloudAssistant, then reboot the instance; see "Install the Cloud Assistant agent"), ${otherRoute}`,
  );
  const script = named ?? nicSetupScriptFor({ osName: instance.osName, osType: instance.osType });
  const problem = script ? scripts.problem(script, 'guest preparation') : undefined;
  const os = `${instance.osName ?? 'unknown OS'} (${instance.osType ?? 'linux'})`;
  if (
    check(
      'guest set-up script',
      !!script && !problem,
      !script
        ? `no built-in guest set-up script for ${os}: name one with --guest-prepare-script (defined in ENI_MIGRATE_GUEST_SCRIPTS), or --guest-setup none if the image configures a secondary NIC by itself`
        : (problem ?? `${script} for ${os}, through Cloud Assistant`),
    )
  )
    plan.guestSetupScript = script;
}
