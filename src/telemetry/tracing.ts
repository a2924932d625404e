/**
 * OpenTelemetry traces. Off unless OTEL_EXPORTER_OTLP_ENDPOINT or
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set, and OTEL_SDK_DISABLED is not true
 * (`spansUrl`); then the process registers a tracer provider that exports over
 * OTLP/HTTP, samples new traces by OTEL_TRACES_SAMPLER (by default
 * parent-based, OTEL_TRACES_SAMPLER_ARG of new traces: an incoming sampled
 * `traceparent` is always continued) and names itself OTEL_SERVICE_NAME.
 *
 * What is traced (README "Operating → Traces" has a trace tree):
 * - one SERVER span per GraphQL operation (./operation-spans.ts), continuing
 *   the request's W3C `traceparent`;
 * - one CLIENT span per upstream attempt (`attemptSpans` below), following the
 *   HTTP client conventions, its context forwarded upstream as `traceparent`;
 *   a retry is its own span with `http.request.resend_count`;
 * - cache hits and joined calls as events on the operation's span
 *   (src/upstream/shared-executions.ts), and each live poll as its own root span
 *   (src/live/poller.ts), since it serves every subscriber of the execution.
 *
 * Spans lost are told (README "Operating → Traces"): failed exports
 * (`ExportFailures`) and spans the batch processor dropped, its queue full
 * (`DroppedSpans`, also counted in gateway_trace_spans_dropped_total).
 */
import {
  context,
  createNoopMeter,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  type Counter,
  type Meter,
  type MeterProvider,
  type MetricOptions,
} from '@opentelemetry/api';
import { setGlobalErrorHandler } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  NodeTracerProvider,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type BufferConfig,
  type Sampler,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-node';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_REQUEST_RESEND_COUNT,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_SERVICE_NAME,
  ATTR_URL_FULL,
} from '@opentelemetry/semantic-conventions';
import type { TelemetryConfig } from '../config.js';
import type { Logger } from '../logger.js';
import { FailureLog } from './failure-log.js';
import type { AttemptWatcher } from '../upstream/executions-client.js';

/** How long a shutdown waits for the last spans to reach the collector before it gives them up. */
export const FLUSH_AT_SHUTDOWN_MS = 3_000;

/**
 * At most one warning this often while spans are lost, per way of losing them (failed exports, a full queue): a
 * collector that is down or slow fails many batches, and drops many spans, a second under load.
 */
const EXPORT_WARNING_EVERY_MS = 60_000;

/** The tracer provider's handle for the process. */
export interface Tracing {
  /** Flushes the spans still batched and stops; never rejects, and gives up after FLUSH_AT_SHUTDOWN_MS (logged at warn). */
  shutdown(): Promise<void>;
}

/**
 * Failed exports (spans lost), as the SDK reports them to its global error
 * handler, in the process log, bounded as upstream failures are
 * (./failure-log.ts): the first at once, then at most one warning a minute
 * counting the failures since. An error is logged as its name, code and
 * message: the SDK's own handler logs it whole, stack and the collector's
 * response body included.
 */
export class ExportFailures {
  readonly #log: FailureLog;

  /**
   * `setting`: the one that says where spans go (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT when set, as `spansUrl` reads
   * them), named by the warning: it gave the exporter's error alone (`connect ECONNREFUSED 127.0.0.1:4318`), and the
   * operator had to know which setting led there.
   */
  constructor(logger: Logger, setting = 'OTEL_EXPORTER_OTLP_ENDPOINT') {
    this.#log = new FailureLog(logger, `spans could not be exported to the collector ${setting} names; they are lost`, EXPORT_WARNING_EVERY_MS);
  }

  /** For `setGlobalErrorHandler`. */
  readonly report = (error: unknown): void => {
    const { name, message, code } = (error ?? {}) as { name?: unknown; message?: unknown; code?: unknown };
    this.#log.observe('export', {
      err: { name: String(name ?? 'Error'), message: String(message ?? error).slice(0, 300), ...(code !== undefined ? { code: String(code) } : {}) },
    });
  };

  /** At shutdown: logs the count still held; failures after it are logged at once. */
  close(): void {
    this.#log.close();
  }
}

/**
 * The SDK's self-observability counter of spans a processor is done with, as the SDK names it (a semantic convention
 * still incubating, so written here rather than imported from `@opentelemetry/semantic-conventions/incubating`,
 * which may rename it in any release). The batch processor adds 1 to it for each span it drops, with `error.type`
 * QUEUE_FULL.
 */
const PROCESSED_SPANS = 'otel.sdk.processor.span.processed';
const QUEUE_FULL = 'queue_full';

/** Spans every `DroppedSpans` of the process was told of: the tracer provider, and so its queue, is the process's. */
let droppedInProcess = 0;

/**
 * Spans the batch processor dropped since the process started, its queue full (OTEL_BSP_MAX_QUEUE_SIZE, 2,048 by
 * default): a whole number, 0 while none was, read by gateway_trace_spans_dropped_total (./metrics.ts).
 */
export function spansDropped(): number {
  return droppedInProcess;
}

/**
 * Spans the batch processor dropped because its queue was full: the collector takes batches slower than the
 * gateway ends spans (slow, or down while the exporter retries). The SDK says so only through its diagnostic
 * logger, which the gateway leaves unset (it would log every SDK diagnostic, the collector's URL among them), and
 * only once the queue takes a span again, so a burst's last drops were never told. `meterProvider` hears each drop
 * as it happens instead: each is counted (`spansDropped`) and logged, bounded as failed exports are (the first at
 * once, then at most one warning a minute whose `suppressed` is the spans dropped since the last). The lines carry
 * no field but that count and its interval: nothing of the span, the collector or the request.
 */
export class DroppedSpans {
  readonly #log: FailureLog;

  /**
   * For the batch processor's `selfObsMeterProvider` (an option the SDK marks experimental: the version is pinned in
   * package.json, and test/tracing.test.ts fails if a new one stops reporting drops here). Its meters record nothing
   * but the drops: every other instrument they make is the no-op one.
   */
  readonly meterProvider: MeterProvider;

  constructor(logger: Logger) {
    this.#log = new FailureLog(logger, 'spans dropped: the export queue was full (OTEL_BSP_MAX_QUEUE_SIZE; the collector takes them slower than they come); they are lost', EXPORT_WARNING_EVERY_MS);
    const noop = createNoopMeter();
    const processed: Counter = {
      add: (count, attributes) => {
        if (attributes?.[ATTR_ERROR_TYPE] === QUEUE_FULL) this.report(count);
      },
    };
    // The no-op meter's methods for every instrument but the one that counts drops.
    const meter: Meter = Object.assign(Object.create(noop) as Meter, {
      createCounter: (name: string, options?: MetricOptions) => (name === PROCESSED_SPANS ? processed : noop.createCounter(name, options)),
    });
    this.meterProvider = { getMeter: () => meter };
  }

  /** `count` spans dropped (the SDK reports each as it drops it: 1). */
  report(count: number): void {
    droppedInProcess += count;
    for (let i = 0; i < count; i++) this.#log.observe(QUEUE_FULL, {});
  }

  /** At shutdown: logs the count still held; drops after it are logged at once. */
  close(): void {
    this.#log.close();
  }
}

/** The tracer every span of the gateway comes from. */
export const tracer = () => trace.getTracer('execution-gateway');

type TracingSettings = Pick<TelemetryConfig, 'otlpEndpoint' | 'otlpTracesEndpoint' | 'otelSdkDisabled'>;

/**
 * Where spans are sent, or undefined when tracing is off: as the OpenTelemetry
 * specification's exporter settings say, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as
 * it is, else OTEL_EXPORTER_OTLP_ENDPOINT with `/v1/traces` added; none with
 * OTEL_SDK_DISABLED=true. The exporter would read the first itself, but only
 * when given no URL: one place decides, and whether the gateway makes spans at
 * all follows it.
 */
export function spansUrl(settings: TracingSettings): string | undefined {
  if (settings.otelSdkDisabled) return undefined;
  if (settings.otlpTracesEndpoint) return settings.otlpTracesEndpoint;
  return settings.otlpEndpoint ? `${settings.otlpEndpoint.replace(/\/+$/, '')}/v1/traces` : undefined;
}

/**
 * A warning for OTEL_EXPORTER_OTLP_TRACES_ENDPOINT set to a collector's address without a path
 * (`http://collector:4318`), or undefined. That URL is used as it is, so spans go to `/`, where a collector's
 * OTLP/HTTP receiver answers 404, and the export warning says only "Not Found" (it never names the URL): the
 * operator was left to guess. Never the value, which may hold credentials.
 */
export function tracesEndpointWarning(settings: TracingSettings): string | undefined {
  if (settings.otelSdkDisabled || !settings.otlpTracesEndpoint) return undefined;
  const url = new URL(settings.otlpTracesEndpoint);
  if (url.pathname !== '/' || url.search !== '') return undefined;
  return 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT has no path and is used as it is: spans go to its /, where a collector answers 404 and every export fails ("Not Found"); end it with /v1/traces, or set OTEL_EXPORTER_OTLP_ENDPOINT instead, which adds it';
}

/** OTEL_TRACES_SAMPLER's sampler, with OTEL_TRACES_SAMPLER_ARG for the ratio ones. */
export function samplerOf(settings: Pick<TelemetryConfig, 'otelSampler' | 'otelSampleRatio'>): Sampler {
  const ratio = () => new TraceIdRatioBasedSampler(settings.otelSampleRatio);
  switch (settings.otelSampler) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return ratio();
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: ratio() });
  }
}

/**
 * Registers the process's tracer provider when `spansUrl` names where spans
 * go; returns how to flush and stop it, or undefined when tracing is off.
 * `processors` replaces the OTLP exporter (tests pass an in-memory one).
 */
export function startTracing(
  settings: TracingSettings & Pick<TelemetryConfig, 'otelServiceName' | 'otelSampler' | 'otelSampleRatio' | 'otelResourceAttributes'>,
  logger: Logger,
  processors?: SpanProcessor[],
): Tracing | undefined {
  const url = spansUrl(settings);
  if (!url && !processors) return undefined;
  const dropped = new DroppedSpans(logger);
  // The batch processor passes its options on to the base processor, which takes `selfObsMeterProvider`; its own
  // type (BufferConfig) leaves that option out, so it is declared beside it here.
  const batching: BufferConfig & { selfObsMeterProvider: MeterProvider } = { selfObsMeterProvider: dropped.meterProvider };
  const provider = new NodeTracerProvider({
    // The SDK's own attributes (telemetry.sdk.*), then the operator's, then the service's name, which wins.
    resource: defaultResource().merge(resourceFromAttributes({ ...(settings.otelResourceAttributes ?? {}), [ATTR_SERVICE_NAME]: settings.otelServiceName })),
    sampler: samplerOf(settings),
    // OTEL_BSP_* are read by the processor itself, for whatever `batching` leaves unset.
    spanProcessors: processors ?? [new BatchSpanProcessor(new OTLPTraceExporter({ url }), batching)],
  });
  // Also installs the AsyncLocalStorage context manager and the W3C propagator.
  provider.register();
  // A failed export reaches the SDK's global error handler, whose default logs it whole through diag.
  const failures = new ExportFailures(logger, settings.otlpTracesEndpoint ? 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' : 'OTEL_EXPORTER_OTLP_ENDPOINT');
  setGlobalErrorHandler(failures.report);
  return {
    async shutdown() {
      failures.close();
      dropped.close();
      let timer: NodeJS.Timeout | undefined;
      const gaveUp = new Promise<'gave up'>((resolve) => (timer = setTimeout(() => resolve('gave up'), FLUSH_AT_SHUTDOWN_MS)));
      try {
        const outcome = await Promise.race([provider.shutdown(), gaveUp]);
        if (outcome === 'gave up') logger.warn({ waitedMs: FLUSH_AT_SHUTDOWN_MS }, 'spans not flushed at shutdown: the collector did not take them in time (a slow collector, or one the exporter could not reach and was still retrying)');
      } catch (error) {
        logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'spans not flushed at shutdown: the export failed');
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/**
 * A CLIENT span around each upstream attempt, a child of whatever span is
 * active (the operation's, or a live poll's), and its context sent upstream
 * as `traceparent` in place of the one the request brought.
 */
export const attemptSpans: AttemptWatcher = {
  start({ method, url, attempt, headers }) {
    const { hostname, port, protocol } = new URL(url);
    const span = tracer().startSpan(method, {
      kind: SpanKind.CLIENT,
      attributes: {
        [ATTR_HTTP_REQUEST_METHOD]: method,
        [ATTR_SERVER_ADDRESS]: hostname,
        [ATTR_SERVER_PORT]: port ? Number(port) : protocol === 'https:' ? 443 : 80,
        [ATTR_URL_FULL]: url,
        ...(attempt > 1 ? { [ATTR_HTTP_REQUEST_RESEND_COUNT]: attempt - 1 } : {}),
      },
    });
    propagation.inject(trace.setSpan(context.active(), span), headers);
    return ({ status, outcome }) => {
      if (status !== undefined) span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
      if (outcome !== 'OK') {
        // The conventions: the status code for an answer of 400 and above, else what went wrong.
        const type = status !== undefined && status >= 400 ? String(status) : outcome;
        span.setAttribute(ATTR_ERROR_TYPE, type);
        span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
      }
      span.end();
    };
  },
};
