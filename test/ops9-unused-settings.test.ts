/**
 * Settings that are taken but that nothing reads, because another setting leaves their part off. They were ignored
 * without a word: `ACCESS_LOG_SAMPLE_PERCENT=10` under the default `ACCESS_LOG=all` still logged every request (the
 * log bill the operator meant to cut by 90% stayed whole), `METRICS_PORT` with `METRICS=api` served nothing on that
 * port, and `OTEL_SERVICE_NAME` or `OTEL_TRACES_SAMPLER_ARG` without an endpoint exported nothing. Each is now one
 * warning at start naming the variable and what would read it, never its value.
 */
import { describe, expect, it } from 'vitest';
import { readConfig, unusedSettings } from '../src/config.js';
import { outputOfStart } from './support/process-output.js';

const unused = (env: Record<string, string>) => unusedSettings(readConfig(env), env);

describe('a setting that is set but not read', () => {
  it('ACCESS_LOG_SAMPLE_PERCENT without ACCESS_LOG=sampled', () => {
    expect(unused({ ACCESS_LOG_SAMPLE_PERCENT: '10' })).toEqual([
      {
        variable: 'ACCESS_LOG_SAMPLE_PERCENT',
        message: 'ACCESS_LOG_SAMPLE_PERCENT is set but not read: ACCESS_LOG is all (its default), and only ACCESS_LOG=sampled logs a share of the error-free requests',
      },
    ]);
    expect(unused({ ACCESS_LOG: 'errors', ACCESS_LOG_SAMPLE_PERCENT: '10' })[0]!.message).toContain('ACCESS_LOG is errors, and only');
    expect(unused({ ACCESS_LOG: 'sampled', ACCESS_LOG_SAMPLE_PERCENT: '10' })).toEqual([]);
  });

  it('METRICS_PORT and METRICS_HOST without METRICS=port', () => {
    expect(unused({ METRICS: 'api', METRICS_PORT: '9100', METRICS_HOST: '0.0.0.0' }).map(({ variable }) => variable)).toEqual(['METRICS_PORT', 'METRICS_HOST']);
    expect(unused({ METRICS: 'off', METRICS_PORT: '9100' })[0]!.message).toBe('METRICS_PORT is set but not read: METRICS is off, and only METRICS=port serves /metrics on a port of its own');
    expect(unused({ METRICS_PORT: '9100', METRICS_HOST: '0.0.0.0' })).toEqual([]);
  });

  it("Redis's settings without REDIS_URL", () => {
    expect(unused({ REDIS_KEY_PREFIX: 'gw:', LIVE_LEASE_MS: '5000' }).map(({ variable }) => variable)).toEqual(['REDIS_KEY_PREFIX', 'LIVE_LEASE_MS']);
    expect(unused({ REDIS_URL: 'redis://127.0.0.1:6379', REDIS_KEY_SECRET: 'x'.repeat(32), REDIS_KEY_PREFIX: 'gw:', LIVE_LEASE_MS: '5000' })).toEqual([]);
  });

  it("tracing's settings without an endpoint, unless tracing was turned off on purpose", () => {
    const found = unused({ OTEL_SERVICE_NAME: 'checkout-gateway', OTEL_TRACES_SAMPLER_ARG: '0.1' });
    expect(found.map(({ variable }) => variable)).toEqual(['OTEL_SERVICE_NAME', 'OTEL_TRACES_SAMPLER_ARG']);
    expect(found[0]!.message).toContain('tracing is off, as neither OTEL_EXPORTER_OTLP_ENDPOINT nor OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set');
    expect(JSON.stringify(found)).not.toContain('checkout-gateway');
    expect(unused({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SERVICE_NAME: 'checkout-gateway' })).toEqual([]);
    expect(unused({ OTEL_SDK_DISABLED: 'true', OTEL_SERVICE_NAME: 'checkout-gateway' })).toEqual([]);
  });

  it('OTEL_TRACES_SAMPLER_ARG beside a sampler that takes no ratio', () => {
    const tracing = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_TRACES_SAMPLER_ARG: '0.1' };
    expect(unused({ ...tracing, OTEL_TRACES_SAMPLER: 'parentbased_always_on' })).toEqual([
      {
        variable: 'OTEL_TRACES_SAMPLER_ARG',
        message: 'OTEL_TRACES_SAMPLER_ARG is set but not read: OTEL_TRACES_SAMPLER is parentbased_always_on, which takes no ratio; set it to parentbased_traceidratio (or traceidratio) to sample a share of new traces',
      },
    ]);
    expect(unused({ ...tracing, OTEL_TRACES_SAMPLER: 'traceidratio' })).toEqual([]);
    expect(unused(tracing)).toEqual([]);
  });

  it('nothing is said of a start whose settings are all read, nor of one set to nothing', () => {
    expect(unused({})).toEqual([]);
    expect(unused({ ACCESS_LOG_SAMPLE_PERCENT: '', METRICS: 'api', METRICS_PORT: '' })).toEqual([]);
  });

  it('the process says it once at start, naming the variable, never the value', async () => {
    const output = await outputOfStart({ PORT: '0', METRICS: 'off', SHUTDOWN_UNREADY_MS: '0', ACCESS_LOG_SAMPLE_PERCENT: '17' });
    const warnings = output.lines().filter((line) => line.variable === 'ACCESS_LOG_SAMPLE_PERCENT');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.level).toBe(40);
    expect(warnings[0]!.msg).toContain('only ACCESS_LOG=sampled logs a share');
    expect(Object.values(warnings[0]!)).not.toContain('17');
    expect(warnings[0]!.msg).not.toContain('17');
  }, 40_000);
});
