/**
 * The naive baseline the benchmark measures the product against: the runbook as a plain script, calling the cloud API
 * directly (the product's own src/cloud/ecs.ts and vpc.ts, so the calls are the same requests) and waiting for each
 * transition as Terraform's alicloud provider does: a first look `pollMs` after the call (StateChangeConf's Delay),
 * then one every `pollMs`. No retries, no rollback, no budget: the happy path only, which is all a benchmark needs.
 */
import { randomUUID } from 'node:crypto';
import type { EcsApi } from '../../src/cloud/ecs';
import type { VpcApi } from '../../src/cloud/vpc';
import { ipv4Answer } from '../../src/guest-scripts';
import type { SshRunner } from '../../src/ssh';
import { sleep } from './env';

export interface BaselineStep {
  name: string;
  startMs: number;
  durationMs: number;
}

export interface BaselineRun {
  wallMs: number;
  offlineMs: number;
  steps: BaselineStep[];
  egressIp: string;
}

export async function runBaseline(opts: {
  ecs: EcsApi;
  vpc: VpcApi;
  ssh: SshRunner;
  instanceId: string;
  pollMs: number;
}): Promise<BaselineRun> {
  const { ecs, vpc, ssh, instanceId, pollMs } = opts;
  const t0 = performance.now();
  const steps: BaselineStep[] = [];
  const step = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const start = performance.now();
    const result = await fn();
    steps.push({ name, startMs: start - t0, durationMs: performance.now() - start });
    return result;
  };
  /** Terraform's wait: Delay, then a Describe every pollMs until the target state. */
  const waitFor = async <T>(what: string, look: () => Promise<T | undefined>): Promise<T> => {
    for (let n = 0; n < 120; n++) {
      await sleep(pollMs);
      const found = await look();
      if (found !== undefined) return found;
    }
    throw new Error(`baseline: ${what} did not settle`);
  };

  // 0. Read the instance (what a script needs to know: its public IP, vSwitch, security group); check SSH works.
  const instance = await step('preflight', async () => {
    const i = await ecs.describeInstance(instanceId);
    if (!i?.publicIp || !i.vSwitchId) throw new Error(`baseline: ${instanceId} has no public IP or vSwitch`);
    await ssh.run(i.publicIp, 'curl -4 -sS -m 10 https://myip.ipip.net');
    return i;
  });
  const publicIp = instance.publicIp as string;

  // 1. Convert; wait until the EIP is InUse on the instance.
  const eip = await step('convertToEip', async () => {
    await ecs.convertNatPublicIpToEip(instanceId);
    return waitFor('the conversion', async () => {
      const e = await vpc.findEipByAddress(publicIp).catch(() => undefined);
      return e?.status === 'InUse' ? e : undefined;
    });
  });

  // 2. Create the ENI; wait until Available.
  const eni = await step('createEni', async () => {
    const { networkInterfaceId } = await ecs.createNetworkInterface({
      vSwitchId: instance.vSwitchId as string,
      securityGroupIds: instance.securityGroupIds,
      name: `baseline-${instanceId}`,
      description: 'naive baseline',
      tags: {},
      clientToken: randomUUID(),
    });
    return waitFor('the ENI', async () => {
      const n = await ecs.describeNetworkInterface(networkInterfaceId);
      return n?.status === 'Available' ? n : undefined;
    });
  });

  // 3. Attach; wait until InUse.
  await step('attachEni', async () => {
    await ecs.attachNetworkInterface(eni.networkInterfaceId, instanceId);
    await waitFor('the attach', async () => {
      const n = await ecs.describeNetworkInterface(eni.networkInterfaceId);
      return n?.status === 'InUse' ? n : undefined;
    });
  });

  // 4. Unbind the EIP from the instance; wait until Available. The offline window opens with the call.
  const offlineFrom = performance.now();
  await step('unassociateEip', async () => {
    await vpc.unassociateEip({
      allocationId: eip.allocationId,
      instanceId,
      instanceType: 'EcsInstance',
      clientToken: randomUUID(),
    });
    await waitFor('the unbind', async () => {
      const e = await vpc.describeEip(eip.allocationId);
      return e?.status === 'Available' ? e : undefined;
    });
  });

  // 5. Bind it to the ENI (NAT mode); wait until InUse. The window closes when the script sees it bound.
  await step('associateEipToEni', async () => {
    await vpc.associateEip({
      allocationId: eip.allocationId,
      instanceId: eni.networkInterfaceId,
      instanceType: 'NetworkInterface',
      mode: 'NAT',
      privateIpAddress: eni.privateIpAddress,
      clientToken: randomUUID(),
    });
    await waitFor('the bind', async () => {
      const e = await vpc.describeEip(eip.allocationId);
      return e?.status === 'InUse' ? e : undefined;
    });
  });
  const offlineMs = performance.now() - offlineFrom;

  // 6. Verify: SSH through the EIP, egress through the SNAT IP.
  const egressIp = await step('verify', async () => {
    const r = await ssh.run(publicIp, 'curl -4 -sS -m 10 https://myip.ipip.net');
    // The echo service's answer is a sentence; the address in it, as the product's check reads it.
    return ipv4Answer(r.stdout).ip ?? r.stdout.trim();
  });
  return { wallMs: performance.now() - t0, offlineMs, steps, egressIp };
}
