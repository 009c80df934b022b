/**
 * The admin API: the local cloud's control plane, on the same port as the cloud API under `/_admin/`.
 * The SDK never calls these paths (its pathname is always `/`). JSON in, JSON out; no signature, so keep the
 * cloud on loopback (the default host). Bad input answers 400 `{"error": "<field>: <what is wrong>"}`;
 * an unknown route 404, a known route with another method 405 (with an `Allow` header).
 *
 * GET    /_admin                  -> 200 ["GET|POST|DELETE /_admin/faults", ...] the routes below.
 *
 * POST   /_admin/faults           Add a fault rule. Body:
 *                                   {"action": "<Action>|*", "code": "<ErrorCode>", "status": <400..599>?,
 *                                    "count": <n>  (the next n matching calls fail)  | "rate": <0..1> (that fraction fails),
 *                                    "message": "<text>"?, "retryAfterMs": <ms>?, "when": "before"|"after"?,
 *                                    "params": {"<Param>": "<value>", ...}?}  (only calls with these parameters,
 *                                    e.g. {"InstanceId": "i-…"}: one instance's calls)
 *                                 status defaults to the code's documented status (400 if unknown). A code containing
 *                                 "Throttling" also sends x-acs-retry-after (retryAfterMs, default 1000).
 *                                 when "before" (default): the call fails without effect; "after": the action runs
 *                                 and then the caller gets the error (a lost response; ClientToken territory).
 *                                 Rules are tried in the order added; the first that fires wins.
 *                                 -> 201 the rule: {id, action, code, status, message, when, remaining?, rate?, retryAfterMs?, hits}
 *                                 "limit": <n>? (with rate: at most n calls fail, then the rule is spent),
 *                                 "drop": true? (no answer: the connection is closed, the client sees a reset; with
 *                                 when "after" the action took effect: a lost response)
 * GET    /_admin/faults           -> 200 [rule, ...] the active rules (count and limit rules vanish when used up).
 *                                 ?all=true: then the spent ones too ("spent": true), to count what they did.
 * DELETE /_admin/faults           -> 200 {"cleared": <n>}
 *
 * POST   /_admin/latency          {"action": "<Action>|*", "ms": <0..600000>}: hold that action's responses back by ms
 *                                 (the action itself runs at once). 0 removes the entry. A specific action beats `*`.
 *                                 -> 200 {"<Action>": ms, ...} every entry
 * GET    /_admin/latency          -> 200 {"<Action>": ms, ...}
 * DELETE /_admin/latency          -> 200 {}
 *
 * POST   /_admin/rate-limits      {"action": "<Action>|*", "rps": <n > 0>, "burst": <n >= 1>}: the token bucket of one
 *                                 action, or with `*` of every action without its own. Buckets restart full.
 *                                 -> 200 {"default": {rps, burst}, "actions": {"<Action>": {rps, burst}}}
 * GET    /_admin/rate-limits      -> 200 the same shape
 * DELETE /_admin/rate-limits      Back to the start-up limits. -> 200 the same shape
 *
 * POST   /_admin/behaviours       {"describeLagMs": <ms>?, "attachFallbacks": <n>?, "stuckDetaches": <n>?,
 *                                  "attachFallbackRate": <0..1>?, "stuckDetachRate": <0..1>?,
 *                                  "stuckDetachReissues": <n>?, "stuckDeletes": <n>?, "emptyCreates": <n>?,
 *                                  "associateFallbacks": <n>?, "associateFallbackRate": <0..1>?, "latencySeed": <n>?}
 *                                 -> model.configure(body): a new ENI missing from Describe* for describeLagMs; the
 *                                 next n attaches fall back to Available; the next n detaches stick in Detaching
 *                                 until re-issued; the rates do the same to that fraction of all attaches / detaches;
 *                                 a stuck detach ignores stuckDetachReissues re-issues before it moves; the next n
 *                                 deletes stick in Deleting until re-issued; the next n creates answer 200 without a
 *                                 NetworkInterfaceId (no ENI made); the next n (or that fraction of) associations
 *                                 end Available; latencySeed reseeds the association durations' draws.
 *                                 -> 200 {"configured": body}
 * GET    /_admin/behaviours       -> 200 {describeLagMs, attachFallbacks, stuckDetaches, attachFallbackRate,
 *                                 stuckDetachRate, stuckDetachReissues, stuckDeletes, emptyCreates,
 *                                 associateFallbacks, associateFallbackRate, latencySeed, "fired": {laggedEnis,
 *                                 attachFallbacks, stuckDetaches, ignoredDetachReissues, stuckDeletes, emptyCreates,
 *                                 associateFallbacks}}
 *
 * GET    /_admin/timings          -> 200 {attachMs, detachMs, deleteMs, associateMs, unassociateMs, convertMs,
 *                                 commandMs, associateSpreadMs}
 * POST   /_admin/timings          Any subset of those keys (ms >= 0), merged into the model's timings.
 *                                 -> 200 the resulting timings
 *
 * GET    /_admin/state            -> 200 model.snapshot(): every resource, with the API's own field names.
 *
 * GET    /_admin/calls            -> 200 [{seq, time, product, action, status, code?, requestId, params}, ...] every API
 *                                 call received, in arrival order, params without signature/protocol fields.
 *                                 Query: ?action=<Action> only that action; ?since=<seq> only calls after seq.
 * DELETE /_admin/calls            -> 200 {"cleared": <n>} (seq keeps counting)
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { CloudModel, ModelBehaviours, Timings } from '../contracts';
import type { CallLog } from './call-log';
import { FaultRuleInput, type FaultInjector } from './faults';
import { LatencyInput, type LatencyRules } from './latency';
import type { RateLimiter } from './rate-limits';

export const ADMIN_PREFIX = '/_admin';

export interface AdminDeps {
  model: CloudModel;
  faults: FaultInjector;
  latency: LatencyRules;
  rateLimits: RateLimiter;
  calls: CallLog;
}

const RateLimitInput = z
  .object({ action: z.string().min(1), rps: z.number().positive(), burst: z.number().int().min(1) })
  .strict();

const count = z.number().int().min(0);
const fraction = z.number().min(0).max(1);
const BehavioursInput = z
  .object({
    describeLagMs: count.optional(),
    attachFallbacks: count.optional(),
    stuckDetaches: count.optional(),
    attachFallbackRate: fraction.optional(),
    stuckDetachRate: fraction.optional(),
    stuckDetachReissues: count.optional(),
    stuckDeletes: count.optional(),
    emptyCreates: count.optional(),
    associateFallbacks: count.optional(),
    associateFallbackRate: fraction.optional(),
    latencySeed: count.optional(),
  })
  .strict() satisfies z.ZodType<ModelBehaviours>;

const ms = z.number().min(0);
const TimingsInput = z
  .object({
    attachMs: ms.optional(),
    detachMs: ms.optional(),
    deleteMs: ms.optional(),
    associateMs: ms.optional(),
    unassociateMs: ms.optional(),
    convertMs: ms.optional(),
    commandMs: ms.optional(),
    associateSpreadMs: ms.optional(),
  })
  .strict() satisfies z.ZodType<Partial<Timings>>;

class AdminError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

function parse<T>(schema: z.ZodType<T>, body: Buffer): T {
  let json: unknown;
  try {
    json = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
  } catch (e) {
    throw new AdminError(400, `body is not valid JSON: ${(e as Error).message}`);
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    const detail = result.error.issues.map(
      (i) => `${i.path.length ? i.path.join('.') : 'body'}: ${i.message}`,
    );
    throw new AdminError(400, detail.join('; '));
  }
  return result.data;
}

function optionalInt(url: URL, name: string): number | undefined {
  const raw = url.searchParams.get(name);
  if (raw === null) return undefined;
  if (!/^\d+$/.test(raw)) throw new AdminError(400, `${name}: expected a non-negative integer, got "${raw}"`);
  return Number(raw);
}

type Handler = (body: Buffer, url: URL) => { status?: number; json: unknown };

type Routes = Record<string, Partial<Record<'GET' | 'POST' | 'DELETE', Handler>>>;

function routes(d: AdminDeps): Routes {
  const table: Routes = {
    '': {
      GET: () => ({
        json: Object.entries(table)
          .filter(([name]) => name)
          .map(([name, methods]) => `${Object.keys(methods).join('|')} ${ADMIN_PREFIX}/${name}`),
      }),
    },
    faults: {
      GET: (_body, url) => ({ json: d.faults.list(/^(1|true)$/.test(url.searchParams.get('all') ?? '')) }),
      POST: (body) => ({ status: 201, json: d.faults.add(parse(FaultRuleInput, body)) }),
      DELETE: () => ({ json: { cleared: d.faults.clear() } }),
    },
    latency: {
      GET: () => ({ json: d.latency.list() }),
      POST: (body) => {
        d.latency.set(parse(LatencyInput, body));
        return { json: d.latency.list() };
      },
      DELETE: () => {
        d.latency.clear();
        return { json: d.latency.list() };
      },
    },
    'rate-limits': {
      GET: () => ({ json: d.rateLimits.list() }),
      POST: (body) => {
        const { action, rps, burst } = parse(RateLimitInput, body);
        d.rateLimits.set(action, { rps, burst });
        return { json: d.rateLimits.list() };
      },
      DELETE: () => {
        d.rateLimits.reset();
        return { json: d.rateLimits.list() };
      },
    },
    behaviours: {
      GET: () => {
        if (!d.model.behaviours) throw new AdminError(404, 'this model does not report its behaviours');
        return { json: d.model.behaviours() };
      },
      POST: (body) => {
        const behaviours = parse(BehavioursInput, body);
        d.model.configure(behaviours);
        return { json: { configured: behaviours } };
      },
    },
    timings: {
      GET: () => ({ json: d.model.timings }),
      POST: (body) => {
        d.model.timings = { ...d.model.timings, ...parse(TimingsInput, body) };
        return { json: d.model.timings };
      },
    },
    state: {
      GET: () => ({ json: d.model.snapshot() }),
    },
    calls: {
      GET: (_body, url) => ({
        json: d.calls.list({
          action: url.searchParams.get('action') ?? undefined,
          since: optionalInt(url, 'since'),
        }),
      }),
      DELETE: () => ({ json: { cleared: d.calls.clear() } }),
    },
  };
  return table;
}

function reply(
  res: ServerResponse,
  status: number,
  json: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(json, null, 2) + '\n';
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json;charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

export function isAdminPath(path: string): boolean {
  return path === ADMIN_PREFIX || path.startsWith(`${ADMIN_PREFIX}/`);
}

export type AdminHandler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

export function createAdminHandler(deps: AdminDeps, onError: (error: unknown) => void): AdminHandler {
  const table = routes(deps);
  return (req, res, body) => {
    const url = new URL(req.url ?? '/', 'http://admin.local');
    const name = url.pathname.slice(ADMIN_PREFIX.length).replace(/^\/+|\/+$/g, '');
    try {
      const route = Object.hasOwn(table, name) ? table[name] : undefined;
      if (!route) throw new AdminError(404, `no admin route ${url.pathname}; GET ${ADMIN_PREFIX} lists them`);
      const handler = route[req.method as 'GET' | 'POST' | 'DELETE'];
      if (!handler) {
        const allow = Object.keys(route).join(', ');
        throw new AdminError(405, `${req.method} is not allowed on ${url.pathname}; use ${allow}`, { allow });
      }
      const { status = 200, json } = handler(body, url);
      reply(res, status, json);
    } catch (e) {
      if (e instanceof AdminError) return reply(res, e.status, { error: e.message }, e.headers);
      onError(e);
      reply(res, 500, { error: `admin route failed: ${(e as Error).message}` });
    }
  };
}
