/**
 * A collector that cannot be reached: the export warning gave the exporter's error alone (`connect ECONNREFUSED
 * 127.0.0.1:4319`), and an operator new to the gateway had to know which setting led there. It names the setting
 * that says where spans go: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT when set, which wins, else OTEL_EXPORTER_OTLP_ENDPOINT.
 */
import { once } from 'node:events';
import { createServer } from 'node:net';
import { context, propagation, trace } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { startTracing } from '../src/telemetry/tracing.js';
import { captureLog } from './support/captured-log.js';
import { waitFor } from './support/live.js';

// Read by the batch processor as it is made: one export 100 ms after the span ends, not 5 s.
process.env.OTEL_BSP_SCHEDULE_DELAY = '100';

/** A loopback port nothing listens on: taken, then given back. */
async function closedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('an export to a collector that is not there', () => {
  afterEach(() => {
    trace.disable();
    context.disable();
    propagation.disable();
  });

  for (const [setting, endpoint] of [
    ['OTEL_EXPORTER_OTLP_ENDPOINT', (port: number) => ({ otlpEndpoint: `http://127.0.0.1:${port}`, otlpTracesEndpoint: undefined })],
    ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', (port: number) => ({ otlpEndpoint: `http://127.0.0.1:${port}`, otlpTracesEndpoint: `http://127.0.0.1:${port}/v1/traces` })],
  ] as const) {
    it(`is one warning naming ${setting}, and the error`, async () => {
      const log = captureLog('info');
      const tracing = startTracing(
        { ...endpoint(await closedPort()), otelSdkDisabled: false, otelServiceName: 'gateway-under-test', otelSampler: 'always_on', otelSampleRatio: 1, otelResourceAttributes: undefined },
        log.logger,
      )!;
      trace.getTracer('test').startSpan('lost').end();
      const warnings = () => log.lines.filter((line) => line.level >= 40 && String(line.msg).startsWith('spans could not be exported'));
      // The batch is sent within OTEL_BSP_SCHEDULE_DELAY (set below); the exporter gives up on a refused port within its timeout.
      await waitFor(() => warnings().length > 0, 'the export warning', 25_000);
      await tracing.shutdown();
      expect(warnings()).toHaveLength(1);
      expect(warnings()[0]!.msg).toBe(`spans could not be exported to the collector ${setting} names; they are lost`);
      expect(JSON.stringify(warnings()[0]!.err)).toMatch(/ECONNREFUSED|fetch failed|Request failed|socket/i);
    }, 30_000);
  }
});
