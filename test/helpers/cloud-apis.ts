/** The product's cloud APIs against a local cloud; its own file, so activity-level tests load no Temporal worker. */
import Credential, { Config as CredentialConfig } from '@alicloud/credentials';
import { createCloudApis } from '../../src/cloud/clients';
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
