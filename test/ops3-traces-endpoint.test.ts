/**
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is used as it is (the OpenTelemetry specification's rule), so one set to a
 * collector's address alone sends every span to `/`, which a collector answers 404. The export warning says only
 * "Not Found", never the URL: start-up says what is wrong instead.
 */
import { createServer, type IncomingMessage } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { tracesEndpointWarning } from '../src/telemetry/tracing.js';
import { outputOfStart, type ProcessOutput } from './support/process-output.js';

const settings = (otlpTracesEndpoint?: string, otlpEndpoint?: string) => ({ otlpTracesEndpoint, otlpEndpoint, otelSdkDisabled: false });

describe('a traces endpoint without a path', () => {
  it('is warned of, where one with a path, the base endpoint or tracing off is not', () => {
    expect(tracesEndpointWarning(settings('http://collector:4318'))).toContain('end it with /v1/traces');
    expect(tracesEndpointWarning(settings('http://collector:4318/'))).toContain('has no path');
    expect(tracesEndpointWarning(settings('http://collector:4318/v1/traces'))).toBeUndefined();
    expect(tracesEndpointWarning(settings('https://otlp.example.com/otlp/v1/traces'))).toBeUndefined();
    expect(tracesEndpointWarning(settings(undefined, 'http://collector:4318'))).toBeUndefined();
    expect(tracesEndpointWarning({ ...settings('http://collector:4318'), otelSdkDisabled: true })).toBeUndefined();
  });

  it('is said once at start, never with its credentials, and the collector indeed gets the spans at /', async () => {
    const paths: string[] = [];
    const collector = createServer((request: IncomingMessage, response) => {
      paths.push(request.url ?? '');
      request.resume();
      request.on('end', () => response.writeHead(request.url === '/v1/traces' ? 200 : 404).end());
    });
    collector.listen(0, '127.0.0.1');
    await once(collector, 'listening');
    const endpoint = `http://user:collector-password@127.0.0.1:${(collector.address() as AddressInfo).port}`;
    let output: ProcessOutput;
    try {
      output = await outputOfStart({ PORT: '0', METRICS: 'off', SHUTDOWN_UNREADY_MS: '0', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: endpoint });
    } finally {
      collector.close();
    }
    const warnings = output.lines().filter((line) => line.variable === 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.level).toBe(40);
    expect(warnings[0]!.msg).toContain('spans go to its /');
    expect(output.stdout() + output.stderr()).not.toContain('collector-password');
    // The demo's start-up and the flush at shutdown export nothing unless a span ended; whatever went out went to `/`.
    expect(paths.every((path) => path === '/')).toBe(true);
  }, 40_000);
});
