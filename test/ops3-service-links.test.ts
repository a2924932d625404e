/**
 * Kubernetes sets `<SERVICE>_PORT=tcp://<address>:<port>` in every pod for each Service of its namespace (enableServiceLinks,
 * on by default): a Service named `redis` sets REDIS_PORT, one named `metrics` METRICS_PORT. The operator never wrote them.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, nearMissSettings, readConfig } from '../src/config.js';

const refusal = (env: Record<string, string>) => {
  try {
    readConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  return undefined;
};

describe('Kubernetes service links in the environment', () => {
  it("are no misspelling: a Service named redis does not tell an operator whose REDIS_URL is right to fix it", () => {
    expect(nearMissSettings({ REDIS_PORT: 'tcp://10.96.0.12:6379', METRIC_PORT: 'tcp://10.96.0.13:9464' })).toEqual([]);
    // Typed by someone, the same names are still warned of.
    expect(nearMissSettings({ REDIS_PORT: '6379', METRIC_PORT: '9464' })).toEqual([
      { variable: 'REDIS_PORT', setting: 'REDIS_URL' },
      { variable: 'METRIC_PORT', setting: 'METRICS_PORT' },
    ]);
  });

  it('METRICS_PORT set by a Service named metrics is refused saying where it came from and how to override it', () => {
    const message = refusal({ UPSTREAM_URL: 'http://127.0.0.1:1', METRICS_PORT: 'tcp://10.96.0.13:9464' });
    expect(message).toContain('METRICS_PORT');
    expect(message).toContain('Kubernetes sets for a Service named metrics');
    expect(message).toContain('enableServiceLinks: false');
    // Any other value that is no port is refused as before.
    expect(refusal({ UPSTREAM_URL: 'http://127.0.0.1:1', METRICS_PORT: 'abc' })).toContain('Invalid METRICS_PORT="abc": must be a whole number from 0 to 65535.');
    expect(readConfig({ UPSTREAM_URL: 'http://127.0.0.1:1', METRICS_PORT: '9500' }).telemetry.metricsPort).toBe(9500);
  });
});
