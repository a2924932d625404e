/** The README's production advice names every setting a load balancer in front needs. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const production = readme.slice(readme.indexOf('### Production build'), readme.indexOf('### Health, readiness and drain'));

describe('README "Production build"', () => {
  // Without TRUSTED_PROXIES behind an HTTP balancer, every client shares the balancer's address, and so one budget of
  // WebSocket upgrades (test/websocket-upgrade-rate.test.ts, "without TRUSTED_PROXIES"): a deploy's reconnects got 429.
  it('tells an operator behind an HTTP load balancer to set TRUSTED_PROXIES, and why', () => {
    expect(production).toContain('Behind a load balancer');
    expect(production).toContain('`TRUSTED_PROXIES`');
    expect(production).toContain('`WS_MAX_UPGRADES_PER_SECOND`');
    expect(production).toContain('`429`');
  });
});
