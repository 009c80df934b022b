/** The product's cloud APIs against a local cloud; its own file, so activity-level tests load no Temporal worker. */
import Credential, { Config as CredentialConfig } from '@alicloud/credentials';
import { createActivities, type Activities, type ActivityDeps } from '../../src/activities';
import { createCloudApis } from '../../src/cloud/clients';
import { createSshRunner } from '../../src/ssh';
import type { TestCloud } from './local-cloud';

/** The product's ECS and VPC APIs (src/cloud) against this local cloud, as the worker builds them. */
export function productCloudApis(cloud: TestCloud, regionId: string, secret?: string) {
  return createCloudApis({
    regionId,
    ecsEndpoint: cloud.cloud.endpoint, // host:port
    vpcEndpoint: cloud.cloud.url, // a URL works too
    credential: new Credential(
      new CredentialConfig({
        type: 'access_key',
        accessKeyId: cloud.cloud.accessKeyId,
        accessKeySecret: secret ?? cloud.cloud.accessKeySecret,
      }),
    ),
  });
}

/**
 * The activities as a worker wires them, against this local cloud: its own SSH client, quick polls, waits that follow
 * the cloud's timings. `deps` replaces any of them.
 */
export function activitiesOn(cloud: TestCloud, deps: Partial<ActivityDeps> = {}): Activities {
  const { ecs, vpc } = productCloudApis(cloud, cloud.cloud.regionId);
  return createActivities({
    ecs,
    vpc,
    ssh: createSshRunner({}),
    pollIntervalMs: 20,
    transitionMs: cloud.cloud.model.timings,
    ...deps,
  });
}
