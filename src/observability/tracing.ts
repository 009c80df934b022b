/**
 * OpenTelemetry tracing, off unless OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set: then
 * the process installs a tracer provider that exports over OTLP/HTTP, and the worker and the client add Temporal's
 * OpenTelemetry interceptors. A migration is one trace: the client's StartWorkflow, the workflow's RunWorkflow, each
 * step's StartActivity and RunActivity, and under each activity its cloud API calls and SSH sessions (`withSpan`).
 *
 * Off, nothing is installed: `withSpan` runs against OpenTelemetry's no-op tracer (a function call), the worker loads
 * the usual workflow bundle, and no interceptor runs.
 */
import * as otel from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { WorkflowClientInterceptor } from '@temporalio/client';
import type { OpenTelemetrySinks } from '@temporalio/interceptors-opentelemetry';
import type { ActivityInterceptorsFactory, InjectedSinks } from '@temporalio/worker';

// The SDK, the exporter and Temporal's interceptors load only when tracing is on: off, a worker or a CLI command
// does not pay for their modules. The API (above) is small, and a no-op without a provider.
/* eslint-disable @typescript-eslint/no-require-imports */
const sdk = () => ({
  ...(require('@opentelemetry/resources') as typeof import('@opentelemetry/resources')),
  ...(require('@opentelemetry/sdk-trace-base') as typeof import('@opentelemetry/sdk-trace-base')),
  ...(require('@opentelemetry/sdk-trace-node') as typeof import('@opentelemetry/sdk-trace-node')),
  ...(require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http')),
});
const interceptors = () =>
  require('@temporalio/interceptors-opentelemetry') as typeof import('@temporalio/interceptors-opentelemetry');
/* eslint-enable @typescript-eslint/no-require-imports */

/** The scope of the workflows' spans (src/observability/workflow-tracing.ts, which runs in the sandbox). */
const WORKFLOW_TRACER_NAME = 'eni-migration-workflow';

/** The product's instrumentation scope, on every span it makes itself (cloud calls, SSH sessions). */
export const TRACER_NAME = 'eni-migration';

/** OTEL_EXPORTER_OTLP_ENDPOINT & co., as the configuration reads them. */
export interface TracingSettings {
  /** Where spans go (OTLP over HTTP, e.g. http://otel-collector:4318); the exporter reads the OTEL_* variables. */
  endpoint: string;
  /** OTEL_SERVICE_NAME; default: the process's role (`eni-migrate-worker`, `eni-migrate-cli`). */
  serviceName?: string;
}

/** The process's tracing: its provider, and what the worker and the client add to be traced. */
export interface Tracing {
  readonly resource: Resource;
  /** Where every span goes, the workflows' included, once made safe to export (see `redacted`). */
  readonly spanProcessor: SpanProcessor;
  /**
   * Sends the spans not yet exported (a CLI command before it exits, a worker as it stops). It never throws and gives
   * up after `timeoutMs`: a collector that is down costs a warning, not the command's result.
   */
  flush(timeoutMs?: number): Promise<void>;
  shutdown(): Promise<void>;
}

let installed: Tracing | undefined;

/** The tracing this process installed, if any. */
export function installedTracing(): Tracing | undefined {
  return installed;
}

/**
 * Installs the process's tracer provider (once: the OpenTelemetry API holds one global provider), with W3C trace
 * context propagation, which Temporal's interceptors use to carry a trace through workflow and activity headers.
 * Default processor: batches to the OTLP/HTTP exporter; tests pass a SimpleSpanProcessor over an in-memory exporter.
 * Only the worker and the CLI install one: a program that embeds the client keeps its own OpenTelemetry set-up.
 */
export function installTracing(
  options: { serviceName?: string; spanProcessor?: SpanProcessor; warn?: (line: string) => void } = {},
): Tracing {
  if (installed) return installed;
  const { envDetectorSync, Resource, BatchSpanProcessor, NodeTracerProvider, OTLPTraceExporter } = sdk();
  const resource = Resource.default()
    .merge(envDetectorSync.detect())
    .merge(new Resource({ 'service.name': options.serviceName ?? 'eni-migrate' }));
  const spanProcessor = redacted(options.spanProcessor ?? new BatchSpanProcessor(new OTLPTraceExporter()));
  const provider = new NodeTracerProvider({ resource, spanProcessors: [spanProcessor] });
  // Registers the async-hooks context manager too: a cloud call's span finds its activity's span as its parent.
  provider.register();
  const warn = options.warn ?? ((line: string) => void process.stderr.write(`${line}\n`));
  installed = {
    // The provider's own (its defaults merged in): the workflows' spans share it, so an export groups them as one.
    resource: provider.resource,
    spanProcessor,
    flush: async (timeoutMs = 3000) => {
      let timer: NodeJS.Timeout | undefined;
      const gaveUp = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
        timer.unref();
      });
      try {
        const result = await Promise.race([provider.forceFlush().then(() => 'sent' as const), gaveUp]);
        if (result === 'timeout')
          warn(`eni-migrate: WARNING: traces not sent within ${timeoutMs} ms (OTEL_EXPORTER_OTLP_ENDPOINT)`);
      } catch (err) {
        // The provider rejects with its processors' errors, an array.
        const why = [err]
          .flat()
          .map((e) => (e instanceof Error ? e.message : String(e)))
          .join('; ');
        warn(`eni-migrate: WARNING: traces not sent (OTEL_EXPORTER_OTLP_ENDPOINT): ${why}`);
      } finally {
        clearTimeout(timer);
      }
    },
    shutdown: async () => {
      await provider.shutdown();
      otel.trace.disable();
      otel.context.disable();
      otel.propagation.disable();
      installed = undefined;
    },
  };
  return installed;
}

/** Tracing from the configuration, when it asks for it (OTEL_EXPORTER_OTLP_ENDPOINT set); else none. */
export function tracingFor(
  settings: TracingSettings | undefined,
  role: 'worker' | 'cli',
): Tracing | undefined {
  return (
    installed ??
    (settings ? installTracing({ serviceName: settings.serviceName ?? `eni-migrate-${role}` }) : undefined)
  );
}

/**
 * The workflow interceptors module, bundled with the workflow code when tracing is on: ours, which leaves the
 * workflow's commands as they are without tracing (src/observability/workflow-tracing.ts).
 */
export const workflowTracingModule = (): string => require.resolve('./workflow-tracing');

/** Activity interceptors: each activity runs in a span whose parent is the workflow's StartActivity. */
export function activityTracing(): ActivityInterceptorsFactory {
  const { OpenTelemetryActivityInboundInterceptor, OpenTelemetryActivityOutboundInterceptor } =
    interceptors();
  return (ctx) => ({
    inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
    outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
  });
}

/** The sink through which the workflow sandbox hands its spans to the worker's processor. */
export function workflowSpanSinks(tracing: Tracing): InjectedSinks<OpenTelemetrySinks> {
  return { exporter: interceptors().makeWorkflowExporter(tracing.spanProcessor, tracing.resource) };
}

/**
 * The client's interceptor: a StartWorkflow span (and one per signal, update, cancel…), carried to the workflow in its
 * headers. Queries are left untraced: `--wait` asks for progress every second, each would be a trace of its own.
 */
export function clientTracing(): WorkflowClientInterceptor {
  const Base = interceptors().OpenTelemetryWorkflowClientInterceptor;
  return new (class extends Base {
    override query(...[input, next]: Parameters<InstanceType<typeof Base>['query']>): Promise<unknown> {
      return next(input);
    }
  })();
}

/** Workflow span attributes kept (the SDK's exporter copies the whole workflow info onto each: results, memo…). */
const WORKFLOW_ATTRIBUTES = new Set([
  'workflowId',
  'runId',
  'workflowType',
  'taskQueue',
  'namespace',
  'attempt',
  'temporalWorkflowId',
  'temporalActivityId',
  'temporalUpdateId',
  'run_id',
]);

/**
 * What leaves the process: a span's error is its type, never its message or stack (an activity's failure may quote a
 * guest's output), and a workflow's span keeps only the attributes that name it (the SDK's workflow exporter adds the
 * decoded last result, memo and search attributes, which payload encryption keeps out of Temporal).
 */
export function redacted(inner: SpanProcessor): SpanProcessor {
  const safe = (span: ReadableSpan): ReadableSpan => {
    // SDK 2 renames the scope: read either.
    const scope =
      (span as { instrumentationScope?: { name: string } }).instrumentationScope ??
      span.instrumentationLibrary;
    const fromWorkflow = scope?.name === WORKFLOW_TRACER_NAME;
    const attributes = fromWorkflow
      ? Object.fromEntries(Object.entries(span.attributes).filter(([k]) => WORKFLOW_ATTRIBUTES.has(k)))
      : span.attributes;
    const events = span.events.map((e) =>
      e.name === 'exception'
        ? { ...e, attributes: { 'exception.type': e.attributes?.['exception.type'] ?? 'Error' } }
        : e,
    );
    // Our own spans' status messages are error codes; others' (the SDK's) carry the failure's message.
    const ours = scope?.name === TRACER_NAME || fromWorkflow;
    const status = ours || span.status.message === undefined ? span.status : { code: span.status.code };
    return Object.create(span, {
      attributes: { value: attributes },
      events: { value: events },
      status: { value: status },
    }) as ReadableSpan;
  };
  return {
    onStart: (span, context) => inner.onStart(span, context),
    onEnd: (span) => {
      // Runs inside Span.end(): a span that cannot be made safe is dropped, never the call it measured.
      let exported: ReadableSpan;
      try {
        exported = safe(span);
      } catch {
        return;
      }
      inner.onEnd(exported);
    },
    forceFlush: () => inner.forceFlush(),
    shutdown: () => inner.shutdown(),
  };
}

/**
 * Runs `fn` in a span named `name`, a child of the running span (an activity's, under tracing). A failure marks the
 * span as an error with the given code; the span never carries parameters (they may hold what must not leave).
 * Without tracing, OpenTelemetry's no-op tracer makes this a plain call.
 */
export function withSpan<T>(
  name: string,
  attributes: otel.Attributes,
  fn: (span: otel.Span) => Promise<T>,
  failureCode: (err: unknown) => string | undefined = () => undefined,
): Promise<T> {
  return otel.trace
    .getTracer(TRACER_NAME)
    .startActiveSpan(name, { kind: otel.SpanKind.CLIENT, attributes }, async (span) => {
      try {
        return await fn(span);
      } catch (err) {
        const code = failureCode(err);
        if (code) span.setAttribute('error.type', code);
        span.setStatus({ code: otel.SpanStatusCode.ERROR, message: code ?? (err as Error)?.name });
        throw err;
      } finally {
        span.end();
      }
    });
}
