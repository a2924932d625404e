import { describe, expect, it } from 'vitest';
import { ConfigError, readConfig } from '../src/config.js';

describe('configuration', () => {
  it('has working defaults', () => {
    const config = readConfig({});
    expect(config).toMatchObject({ port: 4000, host: '127.0.0.1', upstreamUrl: undefined, upstreamTimeoutMs: 5_000 });
    expect(config.executionIdPattern.source).toBe('^[A-Za-z0-9_-]{1,64}$');
  });

  it('reads every variable', () => {
    const config = readConfig({
      PORT: '8081',
      UPSTREAM_URL: 'http://127.0.0.1:9000/api',
      UPSTREAM_TIMEOUT_MS: '2500',
      EXECUTION_ID_PATTERN: '^ex_[0-9]+$',
    });
    expect(config).toMatchObject({ port: 8081, upstreamUrl: 'http://127.0.0.1:9000/api', upstreamTimeoutMs: 2500 });
    expect(config.executionIdPattern.test('ex_12')).toBe(true);
  });

  it.each([
    [{ PORT: 'abc' }, 'Invalid PORT="abc": must be a whole number from 0 to 65535.'],
    [{ PORT: '70000' }, 'Invalid PORT="70000": must be at most 65535.'],
    [{ UPSTREAM_URL: 'ftp://host' }, 'Invalid UPSTREAM_URL="ftp://host": must be an http(s) URL such as http://127.0.0.1:8080.'],
    [{ UPSTREAM_URL: 'not a url' }, 'Invalid UPSTREAM_URL="not a url": must be an http(s) URL such as http://127.0.0.1:8080.'],
    [{ UPSTREAM_URL: 'http://host/?x=1' }, 'Invalid UPSTREAM_URL="http://host/?x=1": must not carry a query string or fragment.'],
    [{ UPSTREAM_TIMEOUT_MS: '0' }, 'Invalid UPSTREAM_TIMEOUT_MS="0": must be at least 1.'],
    [{ EXECUTION_ID_PATTERN: '(' }, 'Invalid EXECUTION_ID_PATTERN="(": must be a valid regular expression.'],
  ])('stops on %o with one line saying what to fix', (env, message) => {
    expect(() => readConfig(env)).toThrow(ConfigError);
    expect(() => readConfig(env)).toThrow(message);
    expect(message).not.toContain('\n');
  });
});
