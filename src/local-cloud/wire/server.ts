/**
 * The HTTP server the unmodified ECS and VPC SDK clients talk to (moto's urls + dispatch, in one place).
 * One API call goes: decode -> authenticate -> route (version, action) -> rate limit -> injected fault ->
 * action handler -> injected "after" fault -> added latency -> response (or, for a `drop` fault, a closed
 * connection), and lands in the call log.
 * Everything under /_admin/ goes to the admin API instead (admin.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ActionHandler, CloudModel, Params, Product } from '../contracts';
import { CloudError } from '../errors';
import { createAdminHandler, isAdminPath, type AdminHandler } from './admin';
import { Authenticator, type Credentials } from './authenticate';
import { CallLog } from './call-log';
import { FaultInjector, InjectedFault } from './faults';
import { LatencyRules } from './latency';
import { RateLimiter, type RateLimit } from './rate-limits';
import { decodeRequest, readBody, type DecodedRequest } from './request';
import { errorResponse, newRequestId, send, successResponse, type WireResponse } from './response';

/** API versions this cloud serves, and the product each belongs to (HostId of its errors). */
export const PRODUCT_OF_VERSION: Readonly<Record<string, Product>> = {
  '2014-05-26': 'Ecs',
  '2016-04-28': 'Vpc',
};

export interface ActionRoute {
  product: Product;
  handler: ActionHandler;
}

export interface WireServerOptions {
  model: CloudModel;
  credentials: Credentials;
  /** The action table (src/local-cloud/api's findAction). */
  findAction: (version: string, action: string) => ActionRoute | undefined;
  /** Wraps the decoded business parameters for a handler (src/local-cloud/api's RequestParams). */
  makeParams: (raw: Record<string, string>) => Params;
  /**
   * One token bucket for every action instead of the realistic per-API quotas in one-minute windows: the explicit,
   * generous choice of tests and the bench (GENEROUS_RATE_LIMIT).
   */
  rateLimit?: RateLimit;
  /** One line per API call, when the operator asked for a request log. Never carries secrets or signatures. */
  requestLog?: (line: string) => void;
  /** Unexpected exceptions (bugs, answered as InternalError). Default: console.error. */
  onError?: (error: unknown, context: string) => void;
}

export class WireServer {
  readonly faults = new FaultInjector();
  readonly latency = new LatencyRules();
  readonly rateLimits: RateLimiter;
  readonly calls = new CallLog();
  readonly http: Server;
  private readonly auth: Authenticator;
  private readonly admin: AdminHandler;
  private readonly onError: (error: unknown, context: string) => void;

  constructor(private readonly opts: WireServerOptions) {
    this.auth = new Authenticator(opts.credentials);
    this.rateLimits = new RateLimiter(opts.rateLimit);
    this.onError = opts.onError ?? ((error, context) => console.error(`local cloud: ${context}:`, error));
    this.admin = createAdminHandler(
      {
        model: opts.model,
        faults: this.faults,
        latency: this.latency,
        rateLimits: this.rateLimits,
        calls: this.calls,
      },
      (error) => this.onError(error, 'admin route failed'),
    );
    this.http = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        this.onError(error, 'request failed');
        if (!res.headersSent) res.writeHead(500).end();
      });
    });
  }

  /** Listens (port 0 = a free port) and resolves to the address actually bound. */
  listen(port = 0, host = '127.0.0.1'): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(port, host, () => {
        this.http.off('error', reject);
        resolve(this.http.address() as AddressInfo);
      });
    });
  }

  /** Stops accepting, drops idle keep-alive connections (the SDK keeps them open) and waits for the close. */
  close(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (!this.http.listening) return resolve();
      this.http.close((error) => (error ? reject(error) : resolve()));
      this.http.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (isAdminPath(path)) {
      const body = await readBody(req);
      return this.admin(req, res, body);
    }
    const seq = this.calls.nextSeq();
    const time = new Date().toISOString();
    const started = performance.now();
    const requestId = newRequestId();

    let decoded: DecodedRequest | undefined;
    let product: Product | undefined;
    let response: WireResponse;
    // An injected fault that answers nothing: the connection is closed instead (a lost response).
    let dropped = false;
    try {
      decoded = decodeRequest(req, await readBody(req));
      product = PRODUCT_OF_VERSION[decoded.version];
      response = successResponse(this.dispatch(decoded), requestId);
    } catch (error) {
      if (!(error instanceof CloudError)) this.onError(error, `${decoded?.action || 'request'} ${requestId}`);
      const cloudError = error instanceof CloudError ? error : CloudError.of('InternalError');
      dropped = error instanceof InjectedFault && error.drop;
      response = errorResponse(cloudError, product ?? 'Ecs', requestId);
    }

    const action = decoded?.action ?? '';
    const delay = this.latency.delayFor(action);
    if (delay > 0) await sleep(delay);
    if (dropped) res.destroy();
    else send(res, response, requestId);

    this.calls.record({
      seq,
      time,
      product,
      action,
      status: response.status,
      ...(response.code ? { code: response.code } : {}),
      ...(dropped ? { dropped } : {}),
      requestId,
      params: decoded?.params ?? {},
    });
    this.opts.requestLog?.(
      `${time} ${product ?? '-'} ${action || '-'} ${response.status}${response.code ? ` ${response.code}` : ''}${dropped ? ' (dropped)' : ''} ` +
        `${Math.round(performance.now() - started)}ms ${requestId}`,
    );
  }

  /** Runs one authenticated call; throws CloudError for every answer but success. */
  private dispatch(req: DecodedRequest): Record<string, unknown> {
    if (req.method !== 'GET' && req.method !== 'POST')
      throw CloudError.of('UnsupportedHTTPMethod', req.method);
    if (req.path !== '/') {
      throw CloudError.of(
        'InvalidParameter',
        'path',
        `The API is served on "/" (and the admin API on /_admin/).`,
      );
    }
    if (!req.action) throw CloudError.of('MissingParameter', 'Action');
    if (!req.version) throw CloudError.of('MissingParameter', 'Version');
    const caller = this.auth.verify(req);
    if (!PRODUCT_OF_VERSION[req.version]) throw CloudError.of('InvalidVersion', req.version);
    const route = this.opts.findAction(req.version, req.action);
    if (!route) throw CloudError.of('InvalidAction', req.action);

    // The local cloud's keys all belong to one account: its AccessKey stands for it.
    this.rateLimits.take(req.action, { account: caller.accessKeyId, region: req.params.RegionId ?? '' });
    const before = this.faults.draw(req.action, 'before', req.params);
    if (before) {
      // The fault stands for the action failing: a repeat of its ClientToken gets the failure again.
      if (!before.drop) this.opts.model.clientTokenFailed?.(req.action, req.params, before);
      throw before;
    }
    const result = route.handler(this.opts.model, this.opts.makeParams(req.params));
    const after = this.faults.draw(req.action, 'after', req.params);
    if (after) throw after;
    return result;
  }
}
