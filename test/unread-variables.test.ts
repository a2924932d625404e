/**
 * Variables other software reads, given to the gateway as they would be to any HTTP service, that it does not read:
 * each was ignored in silence (an HTTPS_PROXY egress, OTEL_TRACES_EXPORTER=none). Said once at start, never the value.
 */
import { describe, expect, it } from 'vitest';
import { unreadVariables } from '../src/config.js';
import { outputOfStart } from './support/process-output.js';

describe('variables the gateway does not read', () => {
  it('names proxies in any case, propagators other than W3C, and an exporter other than otlp', () => {
    expect(
      unreadVariables({
        HTTPS_PROXY: 'http://user:secret@proxy:3128',
        http_proxy: 'http://proxy:3128',
        ALL_PROXY: 'socks5://proxy',
        OTEL_PROPAGATORS: 'tracecontext,b3',
        OTEL_TRACES_EXPORTER: 'none',
      }).map(({ variable }) => variable),
    ).toEqual(['HTTPS_PROXY', 'http_proxy', 'ALL_PROXY', 'OTEL_PROPAGATORS', 'OTEL_TRACES_EXPORTER']);
  });

  it('leaves alone what it does honour, what is empty, and NO_PROXY', () => {
    expect(
      unreadVariables({
        OTEL_PROPAGATORS: 'tracecontext, baggage',
        OTEL_TRACES_EXPORTER: 'otlp',
        HTTP_PROXY: '',
        NO_PROXY: 'localhost',
        PATH: '/usr/bin',
        UNSET: undefined,
      }),
    ).toEqual([]);
  });

  it('is logged once per variable at start, never with its value', async () => {
    const output = await outputOfStart({ PORT: '0', METRICS: 'off', SHUTDOWN_UNREADY_MS: '0', HTTPS_PROXY: 'http://user:proxy-password@proxy:3128', OTEL_TRACES_EXPORTER: 'console' });
    const warnings = output.lines().filter((line) => line.msg?.includes('is not read'));
    expect(warnings.map(({ level, variable }) => ({ level, variable }))).toEqual([
      { level: 40, variable: 'HTTPS_PROXY' },
      { level: 40, variable: 'OTEL_TRACES_EXPORTER' },
    ]);
    expect(warnings[0]!.msg).toContain('directly, through no proxy');
    expect(output.stdout() + output.stderr()).not.toContain('proxy-password');
  }, 40_000);
});
