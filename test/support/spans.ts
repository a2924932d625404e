/**
 * Spans recorded in process (test/tracing.test.ts and the suites that read one span kind): `startTracing` registers
 * the process's provider with an in-memory exporter, and an instance traces when its settings carry TRACED (an OTLP
 * endpoint never contacted: the processor given replaces the OTLP exporter).
 */
import { context, propagation, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { startTracing } from '../../src/telemetry/tracing.js';

/** The `service.name` the spans recorded here carry. */
export const SERVICE = 'gateway-under-test';
/** Switches an instance's tracing on; with `recordSpans`, this collector is never contacted. */
export const TRACED: Readonly<Record<string, string>> = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9/' };

/**
 * Registers the process's tracer provider for the tests of the enclosing
 * describe (or file), sampling `ratio` of new traces, and returns its exporter
 * (emptied before each test). Any provider registered before is removed first.
 */
export function recordSpans(ratio: number): InMemorySpanExporter {
  const exporter = new InMemorySpanExporter();
  let tracing: { shutdown(): Promise<void> } | undefined;
  beforeAll(() => {
    trace.disable();
    context.disable();
    propagation.disable();
    tracing = startTracing(
      {
        otlpEndpoint: undefined,
        otlpTracesEndpoint: undefined,
        otelSdkDisabled: false,
        otelServiceName: SERVICE,
        otelSampler: 'parentbased_traceidratio',
        otelSampleRatio: ratio,
        otelResourceAttributes: { 'deployment.environment.name': 'test', 'service.name': 'not this one' },
      },
      createLogger('silent'),
      [new SimpleSpanProcessor(exporter)],
    );
  });
  afterAll(() => tracing?.shutdown());
  beforeEach(() => exporter.reset());
  return exporter;
}
