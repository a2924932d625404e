/**
 * OTEL_EXPORTER_OTLP_PROTOCOL (and its _TRACES_ form), the OpenTelemetry specification's
 * variables for the exporter's protocol. The gateway exports over OTLP/HTTP as JSON only.
 * Set to `grpc` with the collector's gRPC port (4317), it was ignored without a word: every
 * batch was POSTed as JSON to a gRPC port and lost, and nothing at start said why. Tracing on
 * with `grpc` now stops start-up in one line saying what to set; `http/protobuf` and
 * `http/json` are taken (a collector's OTLP/HTTP receiver reads JSON too), and with tracing
 * off the value matters to nothing and is not refused.
 */
import { describe, expect, it } from 'vitest';
import { configRefusal as refusal } from './support/config-refusal.js';

describe('OTEL_EXPORTER_OTLP_PROTOCOL', () => {
  it('grpc with tracing on stops start-up in one line naming the OTLP/HTTP port', () => {
    const line = refusal({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' });
    expect(line).toBeDefined();
    expect(line!.split('\n')).toHaveLength(1);
    expect(line).toContain('OTEL_EXPORTER_OTLP_PROTOCOL=grpc');
    expect(line).toContain('4318');
  });

  it('the traces form wins, as the specification has it', () => {
    expect(refusal({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc' })).toContain(
      'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=grpc',
    );
    expect(refusal({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json' })).toBeUndefined();
  });

  it('http/protobuf and http/json are taken; grpc with tracing off (no endpoint, or OTEL_SDK_DISABLED) too', () => {
    expect(refusal({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' })).toBeUndefined();
    expect(refusal({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' })).toBeUndefined();
    expect(refusal({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toBeUndefined();
    expect(refusal({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_SDK_DISABLED: 'true' })).toBeUndefined();
  });

  it('any other value is refused with the values it takes', () => {
    expect(refusal({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http' })).toMatch(/^Invalid OTEL_EXPORTER_OTLP_PROTOCOL="http": must be http\/protobuf, http\/json or grpc/);
  });
});
