/**
 * The one place where results and CloudErrors become HTTP responses (moto serializes its errors centrally too).
 * Shapes: ../shared/reference/alicloud-ecs-vpc-api.md §5 (success) and §6.1 (errors).
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Product } from '../contracts';
import { CloudError } from '../errors';

export const JSON_CONTENT_TYPE = 'application/json;charset=utf-8';

export const HOST_IDS: Record<Product, string> = { Ecs: 'ecs.aliyuncs.com', Vpc: 'vpc.aliyuncs.com' };

/** Alibaba's request ids are upper-case UUIDs. */
export function newRequestId(): string {
  return randomUUID().toUpperCase();
}

export interface WireResponse {
  status: number;
  headers: Record<string, string>;
  /** The JSON body, already serialized (so a handler result JSON cannot hold fails inside the handler's try). */
  text: string;
  /** Set for errors. */
  code?: string;
}

/** Throws (TypeError) when the result cannot be serialized, e.g. a BigInt: the caller answers InternalError. */
export function successResponse(result: Record<string, unknown>, requestId: string): WireResponse {
  return { status: 200, headers: {}, text: JSON.stringify({ ...result, RequestId: requestId }) };
}

export function errorResponse(error: CloudError, product: Product, requestId: string): WireResponse {
  const recommend = new URL('https://api.aliyun.com/troubleshoot');
  recommend.searchParams.set('q', error.code);
  recommend.searchParams.set('product', product);
  recommend.searchParams.set('requestId', requestId);
  return {
    status: error.status,
    headers: { ...error.headers },
    code: error.code,
    text: JSON.stringify({
      RequestId: requestId,
      HostId: HOST_IDS[product],
      Code: error.code,
      Message: error.message,
      Recommend: recommend.toString(),
    }),
  };
}

export function send(res: ServerResponse, response: WireResponse, requestId: string): void {
  res.writeHead(response.status, {
    ...response.headers,
    'content-type': JSON_CONTENT_TYPE,
    'content-length': Buffer.byteLength(response.text),
    'x-acs-request-id': requestId,
  });
  res.end(response.text);
}
