/**
 * Workflow-side tracing: the interceptors bundled into the workflow code when tracing is on (src/observability/
 * tracing.ts), in place of @temporalio/interceptors-opentelemetry's own. Those wrap update and signal handlers and add
 * awaits, which moves the commands a workflow emits: a history with an update (an approval, a batch's pause or resume)
 * recorded by a worker without tracing would not replay on one with it, and the other way round. These never await
 * and wrap no handler, so a workflow emits the same commands whether tracing is on or off; span ids come from the
 * run's id and position, not from the workflow's seeded Math.random, which the workflow's own code may one day use.
 *
 * What they make: RunWorkflow:<type>, a child of the starter's span (the client's, or the parent workflow's), and a
 * StartActivity:<type> / StartChildWorkflow:<type> span per call, whose context travels in the call's headers so that
 * the activity's (or child's) spans hang below it. Spans leave the sandbox through the `exporter` sink (never through
 * the history) and are not exported again during replay.
 */
// Patches the sandbox so that OpenTelemetry loads in it (performance, window).
import '@temporalio/interceptors-opentelemetry/lib/workflow/runtime';
import * as otel from '@opentelemetry/api';
import { BasicTracerProvider, SimpleSpanProcessor, type IdGenerator } from '@opentelemetry/sdk-trace-base';
import {
  extractContextFromHeaders,
  headersWithContext,
} from '@temporalio/interceptors-opentelemetry/lib/instrumentation';
import { ContextManager } from '@temporalio/interceptors-opentelemetry/lib/workflow/context-manager';
import { SpanExporter } from '@temporalio/interceptors-opentelemetry/lib/workflow/span-exporter';
import {
  ContinueAsNew,
  workflowInfo,
  type ActivityInput,
  type ContinueAsNewInput,
  type Next,
  type StartChildWorkflowExecutionInput,
  type WorkflowExecuteInput,
  type WorkflowInboundCallsInterceptor,
  type WorkflowInterceptors,
  type WorkflowOutboundCallsInterceptor,
} from '@temporalio/workflow';

/** The instrumentation scope of the workflow's spans. */
export const WORKFLOW_TRACER_NAME = 'eni-migration-workflow';

/**
 * Ids from the run and its position in the history: deterministic, distinct across runs, and distinct within a run
 * across worker restarts (a replay makes the same ids for the same spans, and spans after it sit later in the history).
 */
class RunScopedIds implements IdGenerator {
  private position = { historyLength: -1, n: 0 };

  generateTraceId(): string {
    // A trace started by the workflow itself (no starter's span): the run id is 128 random bits already.
    return workflowInfo().runId.replace(/-/g, '').padEnd(32, '0').slice(0, 32);
  }

  generateSpanId(): string {
    const { runId, historyLength } = workflowInfo();
    if (this.position.historyLength !== historyLength) this.position = { historyLength, n: 0 };
    const key = `${runId}/${historyLength}/${this.position.n++}`;
    return fnv1a(key, 0x811c9dc5) + fnv1a(key, 0x01000193);
  }
}

/** 32-bit FNV-1a of `text`, as 8 hex digits. */
function fnv1a(text: string, seed: number): string {
  let hash = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}

let tracer: otel.Tracer | undefined;
let contextManager: ContextManager | undefined;

function workflowTracer(): otel.Tracer {
  if (!tracer) {
    contextManager = new ContextManager();
    const provider = new BasicTracerProvider({
      idGenerator: new RunScopedIds(),
      spanProcessors: [new SimpleSpanProcessor(new SpanExporter())],
    });
    provider.register({ contextManager });
    tracer = provider.getTracer(WORKFLOW_TRACER_NAME);
  }
  return tracer;
}

/** A span that marks a call made now: it ends at once, and its context rides in the call's headers. */
function markCall<I extends { headers: Record<string, unknown> }>(name: string, input: I): I {
  const span = workflowTracer().startSpan(name);
  const headers = otel.context.with(otel.trace.setSpan(otel.context.active(), span), () =>
    headersWithContext(input.headers as Parameters<typeof headersWithContext>[0]),
  );
  span.end();
  return { ...input, headers };
}

class TracingInbound implements WorkflowInboundCallsInterceptor {
  execute(
    input: WorkflowExecuteInput,
    next: Next<WorkflowInboundCallsInterceptor, 'execute'>,
  ): Promise<unknown> {
    // The provider first: it registers the propagator that reads the starter's context from the headers.
    const tracer = workflowTracer();
    const parent = extractContextFromHeaders(input.headers) ?? otel.context.active();
    const { workflowType, workflowId } = workflowInfo();
    const span = tracer.startSpan(
      `RunWorkflow:${workflowType}`,
      { attributes: { temporalWorkflowId: workflowId } },
      parent,
    );
    const run = otel.context.with(otel.trace.setSpan(parent, span), () => next(input));
    // The span ends beside the run's promise, not in its chain: the workflow's completion is not moved by a tick.
    run.then(
      () => span.end(),
      (err: unknown) => {
        // Never the message: a failure's text may quote a guest's output.
        if (!(err instanceof ContinueAsNew))
          span.setStatus({ code: otel.SpanStatusCode.ERROR, message: (err as Error)?.name });
        span.end();
      },
    );
    return run;
  }
}

class TracingOutbound implements WorkflowOutboundCallsInterceptor {
  scheduleActivity(
    input: ActivityInput,
    next: Next<WorkflowOutboundCallsInterceptor, 'scheduleActivity'>,
  ): Promise<unknown> {
    return next(markCall(`StartActivity:${input.activityType}`, input));
  }

  startChildWorkflowExecution(
    input: StartChildWorkflowExecutionInput,
    next: Next<WorkflowOutboundCallsInterceptor, 'startChildWorkflowExecution'>,
  ): ReturnType<Next<WorkflowOutboundCallsInterceptor, 'startChildWorkflowExecution'>> {
    return next(markCall(`StartChildWorkflow:${input.workflowType}`, input));
  }

  continueAsNew(
    input: ContinueAsNewInput,
    next: Next<WorkflowOutboundCallsInterceptor, 'continueAsNew'>,
  ): Promise<never> {
    return next(
      markCall(`ContinueAsNew:${input.options.workflowType ?? workflowInfo().workflowType}`, input),
    );
  }
}

export const interceptors = (): WorkflowInterceptors => ({
  inbound: [new TracingInbound()],
  outbound: [new TracingOutbound()],
  internals: [
    {
      dispose(input, next) {
        contextManager?.disable();
        next(input);
      },
    },
  ],
});
