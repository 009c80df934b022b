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
 *                                 status defaults to the code's documented status (errors.ts; 400 if unknown). A code containing
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
 * POST   /_admin/rate-limits      {"action": "<Action>|*", "perMinute": <n >= 1>}: calls per window (per account and
 *                                 region) of one action, or with `*` of every action without its own.
 *                                 {"action": "<Action>|*", "rps": <n > 0>, "burst": <n >= 1>}: a token bucket instead.
 *                                 {"windowMs": <1..3600000>?, "code": "Throttling"|"Throttling.User"|"Throttling.Api"|
 *                                 "Rejected.Throttling"|"ServiceUnavailable"?}: the window length (default 60000) and
 *                                 the answer of a throttled call (default Throttling); may come with either limit.
 *                                 Counters restart.
 *                                 -> 200 {"default": limit, "actions": {"<Action>": limit}, "windowMs", "code"}, a limit
 *                                 being {perMinute} or {rps, burst}
 * GET    /_admin/rate-limits      -> 200 the same shape
 * DELETE /_admin/rate-limits      Back to the start-up limits, window and code. -> 200 the same shape
 *
 * POST   /_admin/behaviours       {"describeLagMs": <ms>?, "attachFallbacks": <n>?, "stuckDetaches": <n>?,
 *                                  "attachFallbackRate": <0..1>?, "stuckDetachRate": <0..1>?,
 *                                  "stuckDetachReissues": <n>?, "stuckDeletes": <n>?, "emptyCreates": <n>?,
 *                                  "associateFallbacks": <n>?, "associateFallbackRate": <0..1>?, "latencySeed": <n>?,
 *                                  "clientTokenAfterFailure": "replay"|"idempotent-failed"|"run-again"?,
 *                                  "clientTokenProcessingMs": <ms>?}
 *                                 -> model.configure(body): a new ENI missing from Describe* for describeLagMs; the
 *                                 next n attaches fall back to Available; the next n detaches stick in Detaching
 *                                 until re-issued; the rates do the same to that fraction of all attaches / detaches;
 *                                 a stuck detach ignores stuckDetachReissues re-issues before it moves; the next n
 *                                 deletes stick in Deleting until re-issued; the next n creates answer 200 without a
 *                                 NetworkInterfaceId (no ENI made); the next n (or that fraction of) associations
 *                                 end Available; latencySeed reseeds the association durations' draws.
 *                                 A repeated ClientToken after a 4xx failure: the failure again (replay, default),
 *                                 IdempotentFailed, or the call runs again; within clientTokenProcessingMs of its
 *                                 first call: LastTokenProcessing (VPC) / IdempotentProcessing (ECS), 403.
 *                                 -> 200 {"configured": body}
 * GET    /_admin/behaviours       -> 200 {describeLagMs, attachFallbacks, stuckDetaches, attachFallbackRate,
 *                                 stuckDetachRate, stuckDetachReissues, stuckDeletes, emptyCreates,
 *                                 associateFallbacks, associateFallbackRate, latencySeed, clientTokenAfterFailure,
 *                                 clientTokenProcessingMs, "fired": {laggedEnis, attachFallbacks, stuckDetaches,
 *                                 ignoredDetachReissues, stuckDeletes, emptyCreates, associateFallbacks}}
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
import { TOKEN_AFTER_FAILURE, type CloudModel, type ModelBehaviours, type Timings } from '../contracts';
import type { CallLog } from './call-log';
import { FaultRuleInput, type FaultInjector } from './faults';
import { LatencyInput, type LatencyRules } from './latency';
import { THROTTLING_CODES, type RateLimiter } from './rate-limits';

export const ADMIN_PREFIX = '/_admin';

export interface AdminDeps {
  model: CloudModel;
  faults: FaultInjector;
  latency: LatencyRules;
  rateLimits: RateLimiter;
  calls: CallLog;
}

/**
 * One of: `{action, rps, burst}` (a token bucket, the first form), `{action, perMinute}` (calls per window),
 * `{windowMs?, code?}` (the window and the throttling answer); the settings may come with either limit.
 */
const RateLimitInput = z
  .object({
    action: z.string().min(1).optional(),
    rps: z.number().positive().optional(),
    burst: z.number().int().min(1).optional(),
    perMinute: z.number().int().min(1).optional(),
    windowMs: z.number().int().min(1).max(3_600_000).optional(),
    code: z.enum(THROTTLING_CODES).optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    const bucket = r.rps !== undefined || r.burst !== undefined;
    const limit = bucket || r.perMinute !== undefined;
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if (bucket && (r.rps === undefined || r.burst === undefined))
      issue(
        r.rps === undefined ? 'rps' : 'burst',
        'a token bucket needs both "rps" (> 0) and "burst" (>= 1)',
      );
    if (bucket && r.perMinute !== undefined)
      issue('perMinute', 'give a token bucket ("rps", "burst") or a window quota ("perMinute"), not both');
    if (limit && r.action === undefined) issue('action', 'name the "action" the limit is for, or "*"');
    if (!limit && r.action !== undefined)
      issue('action', 'give "perMinute", or "rps" and "burst", for the action');
    if (!limit && r.windowMs === undefined && r.code === undefined)
      issue('body', 'give {action, perMinute}, {action, rps, burst}, or {windowMs} / {code}');
  });

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
    clientTokenAfterFailure: z.enum(TOKEN_AFTER_FAILURE).optional(),
    clientTokenProcessingMs: count.optional(),
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
        const { action, rps, burst, perMinute, windowMs, code } = parse(RateLimitInput, body);
        if (windowMs !== undefined || code !== undefined) d.rateLimits.configure({ windowMs, code });
        if (action !== undefined && rps !== undefined && burst !== undefined)
          d.rateLimits.set(action, { rps, burst });
        if (action !== undefined && perMinute !== undefined) d.rateLimits.set(action, { perMinute });
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
