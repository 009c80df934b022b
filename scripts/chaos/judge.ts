/**
 * The verdict of a chaos run, from the local cloud's state (GET /_admin/state) and SSH to every instance, not from
 * what the workflows say; the workflows' outcomes are only checked against it.
 *
 * - verified: the instance's EIP (its old public IP) InUse, bound in NAT mode to the instance's one secondary ENI,
 *   which is InUse on the instance; SSH on the address reaches the instance and its egress is the VPC's SNAT IP.
 * - rolled-back: the EIP InUse on the instance itself, no secondary ENI on the instance; SSH on the address reaches
 *   it and its egress is the EIP.
 * Anywhere in the region: no secondary ENI that is not a verified instance's one (orphans), no EIP Available
 * (unbound), no address with two EIPs, no instance with two secondary ENIs (duplicates).
 */
import type { SshRunner } from '../../src/ssh';
import type { ChaosInstance } from './topology';

interface EniState {
  NetworkInterfaceId: string;
  Type: string;
  Status: string;
  InstanceId: string;
}
interface EipState {
  AllocationId: string;
  IpAddress: string;
  Status: string;
  InstanceId: string;
  InstanceType: string;
  Mode: string;
}

export type CloudVerdict = 'verified' | 'rolled-back' | 'inconsistent';

export interface InstanceVerdict {
  instanceId: string;
  /** What the workflow said (its report's outcome, or its status when it has none). */
  outcome: string;
  /** What the cloud shows. */
  cloud: CloudVerdict;
  ssh: 'ok' | string;
}

export interface Judgement {
  instances: InstanceVerdict[];
  cloud: Record<CloudVerdict, number>;
  orphanedEnis: number;
  unboundEips: number;
  duplicates: number;
  sshFailures: number;
  violations: string[];
}

/** Runs `fn` over `items`, `width` at a time. */
async function pool<T, R>(items: T[], width: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    }),
  );
  return out;
}

export async function judge(
  state: Record<string, unknown>,
  instances: ChaosInstance[],
  outcomes: Map<string, string>,
  ssh: SshRunner,
): Promise<Judgement> {
  const enis = (state.NetworkInterfaces as EniState[]).filter((e) => e.Type === 'Secondary');
  const eips = state.EipAddresses as EipState[];
  const natEips = new Set(instances.map((i) => i.snatIp));
  const violations: string[] = [];
  const counts: Record<CloudVerdict, number> = { verified: 0, 'rolled-back': 0, inconsistent: 0 };
  let duplicates = 0;
  const homeEnis = new Set<string>();

  const verdicts = await pool(instances, 8, async (inst): Promise<InstanceVerdict> => {
    const outcome = outcomes.get(inst.instanceId) ?? 'unknown';
    const own = eips.filter((e) => e.IpAddress === inst.publicIp);
    const attached = enis.filter((e) => e.InstanceId === inst.instanceId);
    if (own.length > 1) {
      duplicates++;
      violations.push(`${inst.instanceId}: ${own.length} EIPs hold ${inst.publicIp}`);
    }
    if (attached.length > 1) {
      duplicates++;
      violations.push(
        `${inst.instanceId}: ${attached.length} secondary ENIs (${attached.map((e) => e.NetworkInterfaceId).join(', ')})`,
      );
    }
    const eip = own[0];
    let cloud: CloudVerdict = 'inconsistent';
    if (eip?.Status === 'InUse' && attached.length === 1) {
      const eni = attached[0];
      if (
        eip.InstanceType === 'NetworkInterface' &&
        eip.InstanceId === eni.NetworkInterfaceId &&
        eip.Mode === 'NAT' &&
        eni.Status === 'InUse'
      ) {
        cloud = 'verified';
        homeEnis.add(eni.NetworkInterfaceId);
      }
    } else if (
      eip?.Status === 'InUse' &&
      attached.length === 0 &&
      eip.InstanceType === 'EcsInstance' &&
      eip.InstanceId === inst.instanceId
    ) {
      cloud = 'rolled-back';
    }
    counts[cloud]++;
    if (cloud === 'inconsistent') {
      violations.push(
        `${inst.instanceId}: neither migrated nor rolled back: EIP ${eip ? `${eip.Status} on ${eip.InstanceType || '-'} ${eip.InstanceId || '-'}` : 'missing'}, secondary ENIs [${attached.map((e) => `${e.NetworkInterfaceId} ${e.Status}`).join(', ')}]`,
      );
    }
    const expected = cloud === 'verified' ? 'verified' : cloud === 'rolled-back' ? 'rolled-back' : undefined;
    if (expected && outcome !== expected) {
      violations.push(`${inst.instanceId}: the workflow says ${outcome}, the cloud shows ${cloud}`);
    }
    if (cloud === 'verified' && inst.failsVerification) {
      violations.push(`${inst.instanceId}: verified, yet its guest cannot answer on a secondary NIC`);
    }

    // SSH on the address: the instance answers, and leaves through the SNAT IP (verified) or its EIP (rolled back).
    let sshResult = 'ok';
    try {
      const r = await ssh.run(inst.publicIp, 'curl -4 -s -m 5 https://myip.ipip.net');
      const egress = /(\d+\.\d+\.\d+\.\d+)/.exec(r.stdout)?.[1];
      const want = cloud === 'verified' ? inst.snatIp : inst.publicIp;
      if (r.exitCode !== 0) sshResult = `egress check exited ${r.exitCode}`;
      else if (cloud !== 'inconsistent' && egress !== want) sshResult = `egress ${egress}, expected ${want}`;
    } catch (err) {
      sshResult = (err as Error).message;
    }
    if (sshResult !== 'ok') violations.push(`${inst.instanceId}: SSH on ${inst.publicIp}: ${sshResult}`);
    return { instanceId: inst.instanceId, outcome, cloud, ssh: sshResult };
  });

  const orphans = enis.filter((e) => !homeEnis.has(e.NetworkInterfaceId));
  for (const e of orphans) {
    violations.push(
      `orphaned ENI ${e.NetworkInterfaceId} (${e.Status}${e.InstanceId ? ` on ${e.InstanceId}` : ''})`,
    );
  }
  const unbound = eips.filter((e) => e.Status !== 'InUse');
  for (const e of unbound) {
    violations.push(
      `EIP ${e.AllocationId} ${e.IpAddress} is ${e.Status}${natEips.has(e.IpAddress) ? ' (a NAT gateway EIP)' : ''}: bound to nothing`,
    );
  }
  return {
    instances: verdicts,
    cloud: counts,
    orphanedEnis: orphans.length,
    unboundEips: unbound.length,
    duplicates,
    sshFailures: verdicts.filter((v) => v.ssh !== 'ok').length,
    violations,
  };
}
