/**
 * OTEL_RESOURCE_ATTRIBUTES with a `service.name` (what the OpenTelemetry Operator injects into every pod it
 * instruments, `service.name=checkout-gateway,…`) and no OTEL_SERVICE_NAME: the gateway's own default,
 * `execution-gateway`, won over it, so every replica's spans came out under that name, beside nothing saying so.
 * The specification has OTEL_SERVICE_NAME win when it is set, and the resource's `service.name` otherwise; so does
 * the gateway now, its default only when neither names the service.
 */
import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { readConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { startTracing } from '../src/telemetry/tracing.js';

const serviceName = (env: Record<string, string>) => readConfig(env).telemetry.otelServiceName;

it("the resource's service.name names the service when OTEL_SERVICE_NAME is unset; OTEL_SERVICE_NAME wins when set", () => {
  expect(serviceName({ OTEL_RESOURCE_ATTRIBUTES: 'service.name=checkout-gateway,deployment.environment.name=prod' })).toBe('checkout-gateway');
  expect(serviceName({ OTEL_RESOURCE_ATTRIBUTES: 'service.name=checkout-gateway', OTEL_SERVICE_NAME: 'billing-gateway' })).toBe('billing-gateway');
  expect(serviceName({ OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=prod' })).toBe('execution-gateway');
  expect(serviceName({ OTEL_RESOURCE_ATTRIBUTES: 'service.name=checkout-gateway', OTEL_SERVICE_NAME: '' })).toBe('checkout-gateway');
  expect(serviceName({})).toBe('execution-gateway');
});

it('the spans carry it', async () => {
  const exporter = new InMemorySpanExporter();
  const { telemetry } = readConfig({ OTEL_RESOURCE_ATTRIBUTES: 'service.name=checkout-gateway,deployment.environment.name=prod' });
  const tracing = startTracing({ ...telemetry, otlpEndpoint: undefined, otlpTracesEndpoint: undefined }, createLogger('silent'), [new SimpleSpanProcessor(exporter)]);
  try {
    trace.getTracer('ops9').startSpan('probe').end();
    const [span] = exporter.getFinishedSpans();
    expect(span!.resource.attributes).toMatchObject({ 'service.name': 'checkout-gateway', 'deployment.environment.name': 'prod' });
  } finally {
    await tracing?.shutdown();
  }
});

it("README's upgrade notes say a mixed fleet exports under two names", () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  expect(readme).toContain('- **The service\'s name in spans.** With `OTEL_SERVICE_NAME` unset, a `service.name` in');
});
