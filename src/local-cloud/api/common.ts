import type { CloudModel, Params } from '../contracts';
import { CloudError } from '../errors';
import { Cloud } from '../model/cloud';
import type { Tag } from '../model/resources';

/** The handlers work on the model's own class; the server hands them the CloudModel it was built with. */
export function cloudOf(model: CloudModel): Cloud {
  if (!(model instanceof Cloud))
    throw new TypeError('the API handlers need a model made by createCloudModel()');
  return model;
}

/** RegionId must name this region. Unknown regions answer InvalidRegionId.NotFound (assumed status 404). */
export function checkRegion(cloud: Cloud, params: Params, required = true): void {
  const regionId = params.str('RegionId', required);
  if (regionId !== undefined && regionId !== cloud.regionId)
    throw CloudError.of('InvalidRegionId.NotFound', regionId);
}

/** DryRun=true: the request was validated, and nothing happens [DOC]. Call after validation, before any effect. */
export function checkDryRun(params: Params): void {
  if (params.bool('DryRun', false)) throw CloudError.of('DryRunOperation');
}

/** Runs a mutation under ClientToken idempotency (model/client-tokens.ts). */
export function idempotent(
  cloud: Cloud,
  action: string,
  params: Params,
  work: () => Record<string, unknown>,
): Record<string, unknown> {
  return cloud.region.clientTokens.run(action, params.raw, work);
}

/** ECS times carry minutes (`2024-05-01T08:30Z`) in instance fields. */
export function ecsMinuteTime(ms: number | undefined): string {
  return ms === undefined ? '' : new Date(ms).toISOString().slice(0, 16) + 'Z';
}

/** Second-precision UTC time (`2024-05-01T08:30:12Z`), used by ENIs, security groups and the VPC API. */
export function isoSeconds(ms: number | undefined): string {
  return ms === undefined ? '' : new Date(ms).toISOString().slice(0, 19) + 'Z';
}

/** ECS (and NAT gateway) tags: `Tags.Tag[].{TagKey,TagValue}`. */
export function ecsTags(tags: Tag[]): { Tag: Array<{ TagKey: string; TagValue: string }> } {
  return { Tag: tags.map((t) => ({ TagKey: t.key, TagValue: t.value })) };
}

/** EIP, vSwitch and VPC tags: `Tags.Tag[].{Key,Value}`. */
export function vpcTags(tags: Tag[]): { Tag: Array<{ Key: string; Value: string }> } {
  return { Tag: tags.map((t) => ({ Key: t.key, Value: t.value })) };
}

/** Every filter tag must be present; an empty filter value matches any value. */
export function hasTags(resourceTags: Tag[], wanted: Array<{ key: string; value: string }>): boolean {
  return wanted.every((w) =>
    resourceTags.some((t) => t.key === w.key && (w.value === '' || t.value === w.value)),
  );
}

/** A list filter given as ids: an empty filter matches everything, unknown ids simply match nothing. */
export function inFilter(value: string | undefined, filter: string[]): boolean {
  return filter.length === 0 || (value !== undefined && filter.includes(value));
}

export function tooMany(params: Params, name: string, values: string[], max: number): void {
  if (values.length > max)
    throw CloudError.of('InvalidParameter', name, `At most ${max} values are allowed.`);
}

/** The account that owns every resource of the local cloud (ENI OwnerId is a string, VPC/vSwitch OwnerId a number). */
export const ACCOUNT_ID = '1588827239402157';
