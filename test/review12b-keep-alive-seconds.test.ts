/**
 * HTTP_KEEP_ALIVE_TIMEOUT_MS and the `Keep-Alive: timeout=` node sends, in whole seconds, rounded down: a setting below
 * 1000 was taken, and every answer said `timeout=0`, which tells a client to reuse no connection (undici's fetch closes
 * it after each answer), while node kept it open the setting and a second more. Such a setting is refused now.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from './support/harness.js';
import { configRefusal } from './support/config-refusal.js';
import { rawExchange } from './support/raw-http.js';

describe('HTTP_KEEP_ALIVE_TIMEOUT_MS', () => {
  it.each(['100', '500', '999'])('%s, under a second, which the header would give as 0, stops start-up', (value) => {
    expect(configRefusal({ HTTP_KEEP_ALIVE_TIMEOUT_MS: value })).toBe(`Invalid HTTP_KEEP_ALIVE_TIMEOUT_MS="${value}": must be at least 1000.`);
  });

  describe('at its least, 1000', () => {
    let harness: Harness;
    beforeAll(async () => {
      harness = await Harness.start({ env: { HTTP_KEEP_ALIVE_TIMEOUT_MS: '1000' } });
    });
    afterAll(() => harness.close());

    it('is told to clients as timeout=1, not 0', async () => {
      const { text } = await rawExchange(harness.origin, 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', { endAfterAnswers: 1 });
      expect(text).toMatch(/^HTTP\/1\.1 200 /);
      expect(text.split('\r\n\r\n')[0]!.split('\r\n')).toContain('Keep-Alive: timeout=1');
    });
  });
});
