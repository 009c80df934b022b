/**
 * When AttachNetworkInterface can attach an ENI to a Running instance, as Alibaba Cloud documents it. One table, so
 * preflight refuses what step 3 would be refused.
 */

/**
 * Instance types whose instances must be Stopped to attach an ENI: "Bind a secondary ENI" (help doc 58503, updated
 * 2024-03), "Instance types for which instances must be in the Stopped state" — the s6, e, t6, t5 families and the
 * previous-generation shared xn4, n4, mn4 and e4.
 */
export const ATTACH_NEEDS_STOPPED: ReadonlySet<string> = new Set([
  'ecs.s6-c1m1.small',
  'ecs.s6-c1m2.large',
  'ecs.s6-c1m2.small',
  'ecs.s6-c1m4.large',
  'ecs.s6-c1m4.small',
  'ecs.e-c1m1.large',
  'ecs.e-c1m2.large',
  'ecs.e-c1m4.large',
  'ecs.t6-c1m1.large',
  'ecs.t6-c1m2.large',
  'ecs.t6-c1m4.large',
  'ecs.t6-c2m1.large',
  'ecs.t6-c4m1.large',
  'ecs.t5-c1m1.large',
  'ecs.t5-c1m2.large',
  'ecs.t5-c1m4.large',
  'ecs.t5-lc1m1.small',
  'ecs.t5-lc1m2.large',
  'ecs.t5-lc1m2.small',
  'ecs.t5-lc1m4.large',
  'ecs.t5-lc2m1.nano',
  'ecs.xn4.small',
  'ecs.n4.small',
  'ecs.n4.large',
  'ecs.mn4.small',
  'ecs.mn4.large',
  'ecs.e4.small',
  'ecs.e4.large',
]);

/**
 * A Running instance last started (created, restarted or reactivated) before 2018-04-01 must be rebooted
 * (RebootInstance) before an ENI can be attached: AttachNetworkInterface API page. Beijing time, as the console's.
 */
export const ATTACH_NEEDS_START_SINCE = Date.parse('2018-04-01T00:00:00+08:00');

/** Why AttachNetworkInterface would refuse this instance now, with the fix; undefined when it can attach. */
export function attachRefusal(instance: {
  instanceId: string;
  instanceType: string;
  status: string;
  startTime?: string;
}): string | undefined {
  if (instance.status !== 'Running') return undefined;
  if (ATTACH_NEEDS_STOPPED.has(instance.instanceType))
    return `instance type ${instance.instanceType} takes an ENI only while Stopped (Alibaba Cloud: "Bind a secondary ENI"), and ${instance.instanceId} is Running: stop it, then migrate with verification off and without a guest step (--no-verify --guest-setup none), and start it again`;
  const started = instance.startTime ? Date.parse(instance.startTime) : NaN;
  if (started < ATTACH_NEEDS_START_SINCE)
    return `${instance.instanceId} has run since ${instance.startTime}, before 2018-04-01, so an ENI cannot be attached until it is restarted (AttachNetworkInterface): reboot it (ECS RebootInstance), then run again`;
  return undefined;
}
