import Credential from '@alicloud/credentials';
import Ecs from '@alicloud/ecs20140526';
import { $OpenApiUtil } from '@alicloud/openapi-core';
import Vpc from '@alicloud/vpc20160428';
import { createEcsApi, type EcsApi } from './ecs';
import { createVpcApi, type VpcApi } from './vpc';

export type CredentialClient = Credential;

export interface CloudConfig {
  regionId: string;
  /** host:port or a URL (http://127.0.0.1:1234); unset = the real regional endpoint over HTTPS. */
  ecsEndpoint?: string;
  vpcEndpoint?: string;
  /** Default: @alicloud/credentials' default chain (environment, profiles, RAM roles...). */
  credential?: CredentialClient;
  readTimeoutMs?: number;
  connectTimeoutMs?: number;
}

/**
 * The official SDK clients, configured once per worker. The SDK never retries on its own (its retryOptions stay
 * off): Temporal's retry policies own retrying, so one SDK call is exactly one request.
 */
export function createCloudApis(config: CloudConfig): { ecs: EcsApi; vpc: VpcApi } {
  // The SDK has no implicit default chain: without a credential it refuses every call, so build the chain here.
  const credential = config.credential ?? new Credential();
  const sdkConfig = (endpoint: string | undefined) =>
    new $OpenApiUtil.Config({
      credential,
      regionId: config.regionId,
      ...parseEndpoint(endpoint),
      readTimeout: config.readTimeoutMs ?? 10_000,
      connectTimeout: config.connectTimeoutMs ?? 5_000,
    });
  return {
    ecs: createEcsApi(new Ecs(sdkConfig(config.ecsEndpoint)), config.regionId),
    vpc: createVpcApi(new Vpc(sdkConfig(config.vpcEndpoint)), config.regionId),
  };
}

/**
 * The SDK's `endpoint` is host[:port] only and becomes the Host header; the scheme goes in `protocol`.
 * A bare host:port means HTTPS, except on loopback, where only a local cloud listens.
 */
export function parseEndpoint(endpoint: string | undefined): { endpoint?: string; protocol?: string } {
  if (!endpoint) return {};
  const trimmed = endpoint.trim();
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) {
    const url = new URL(trimmed);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new Error(`endpoint ${endpoint}: only http:// and https:// are supported`);
    }
    return { endpoint: url.host, protocol: url.protocol.slice(0, -1) };
  }
  const host = trimmed.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  const loopback = host === 'localhost' || host === '::1' || /^127\./.test(host);
  return { endpoint: trimmed, protocol: loopback ? 'http' : 'https' };
}
