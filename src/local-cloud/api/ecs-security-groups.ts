import type { ActionHandler } from '../contracts';
import { checkDryRun, checkRegion, cloudOf, ecsTags, inFilter, isoSeconds, tooMany } from './common';
import { pageEither } from './paging';

/** DescribeSecurityGroups. The local cloud keeps no rules: RuleCount is 0 and traffic is never filtered. */
const describeSecurityGroups: ActionHandler = (model, params) => {
  const cloud = cloudOf(model);
  checkRegion(cloud, params);
  const ids = params.jsonList('SecurityGroupIds');
  tooMany(params, 'SecurityGroupIds', ids, 100);
  const single = params.str('SecurityGroupId');
  const vpcId = params.str('VpcId');
  const name = params.str('SecurityGroupName');
  const type = params.str('SecurityGroupType');
  const networkType = params.str('NetworkType');
  const tags = params.tags();
  checkDryRun(params);
  const r = cloud.region;
  r.settle();
  const matched = [...r.securityGroups.values()].filter(
    (g) =>
      inFilter(g.securityGroupId, ids) &&
      (!single || g.securityGroupId === single) &&
      (!vpcId || g.vpcId === vpcId) &&
      (!name || g.securityGroupName === name) &&
      (!type || type === 'normal') &&
      (!networkType || networkType === 'vpc') &&
      tags.length === 0, // security groups carry no tags here
  );
  const page = pageEither(matched, params, {
    defaultSize: 10,
    tokenMax: 100,
    pageMax: 50,
    tokenTotalCount: 'none',
  });
  return {
    RegionId: r.regionId,
    ...page.body,
    SecurityGroups: {
      SecurityGroup: page.items.map((g) => {
        const members =
          [...r.instances.values()].filter((i) => i.securityGroupIds.includes(g.securityGroupId)).length +
          [...r.enis.values()].filter(
            (e) => e.type === 'Secondary' && e.securityGroupIds.includes(g.securityGroupId),
          ).length;
        return {
          SecurityGroupId: g.securityGroupId,
          SecurityGroupName: g.securityGroupName,
          Description: '',
          VpcId: g.vpcId,
          SecurityGroupType: 'normal',
          CreationTime: isoSeconds(g.creationTime),
          ResourceGroupId: '',
          ServiceManaged: false,
          EcsCount: members,
          AvailableInstanceAmount: Math.max(0, 2000 - members),
          RuleCount: 0,
          GroupToGroupRuleCount: 0,
          Tags: ecsTags([]),
        };
      }),
    },
  };
};

export const ECS_SECURITY_GROUP_ACTIONS: Record<string, ActionHandler> = {
  DescribeSecurityGroups: describeSecurityGroups,
};
