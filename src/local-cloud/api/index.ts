import type { ActionHandler, Product } from '../contracts';
import { ECS_CLOUD_ASSISTANT_ACTIONS } from './ecs-cloud-assistant';
import { ECS_INSTANCE_ACTIONS } from './ecs-instances';
import { ECS_NETWORK_INTERFACE_ACTIONS } from './ecs-network-interfaces';
import { ECS_SECURITY_GROUP_ACTIONS } from './ecs-security-groups';
import { VPC_EIP_ACTIONS } from './vpc-eips';
import { VPC_NETWORK_ACTIONS } from './vpc-network';

export { RequestParams } from './params';

/** The API version each product's SDK sends in x-acs-version (or `Version` in the legacy format). */
export const API_VERSIONS: Record<Product, string> = {
  Ecs: '2014-05-26',
  Vpc: '2016-04-28',
};

/** One handler per Action, by product. */
export const ACTIONS: Record<Product, Record<string, ActionHandler>> = {
  Ecs: {
    ...ECS_INSTANCE_ACTIONS,
    ...ECS_NETWORK_INTERFACE_ACTIONS,
    ...ECS_SECURITY_GROUP_ACTIONS,
    ...ECS_CLOUD_ASSISTANT_ACTIONS,
  },
  Vpc: { ...VPC_EIP_ACTIONS, ...VPC_NETWORK_ACTIONS },
};

/** The handler for an action of the product whose API version is `version`, or undefined. */
export function findAction(
  version: string,
  action: string,
): { product: Product; handler: ActionHandler } | undefined {
  for (const product of Object.keys(API_VERSIONS) as Product[]) {
    if (API_VERSIONS[product] !== version) continue;
    const handler = Object.prototype.hasOwnProperty.call(ACTIONS[product], action)
      ? ACTIONS[product][action]
      : undefined;
    return handler ? { product, handler } : undefined;
  }
  return undefined;
}
