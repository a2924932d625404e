/**
 * An EXECUTION_ID_PATTERN that refuses the demo's own ids (set for the upstream to come, a UUID pattern) turned
 * every demo query into BAD_USER_INPUT, and `npm start` said nothing of it. Now one warning at start names the
 * setting and a refused demo id; the gateway still starts.
 */
import { describe, expect, it } from 'vitest';
import { demoIdsRefusedWarning } from '../src/demo/demo-upstream.js';
import { compileIdPattern, DEFAULT_EXECUTION_ID_PATTERN } from '../src/upstream/execution-path.js';
import { outputOfStart } from './support/process-output.js';

describe("an EXECUTION_ID_PATTERN that refuses the demo's ids", () => {
  it('is said once at start, naming the setting and a refused id, and the demo still serves', async () => {
    // tsx takes 10-40 s to start on a loaded 2-core CI machine, and SIGTERM's default 5 s of unreadiness came on top of it.
    const output = await outputOfStart(
      { PORT: '0', METRICS: 'off', SHUTDOWN_UNREADY_MS: '0', EXECUTION_ID_PATTERN: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' },
      { withinMs: 50_000 },
    );
    const warnings = output.lines().filter((line) => line.variable === 'EXECUTION_ID_PATTERN');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 40, refusedId: 'ex_demo_1', refused: 10 });
    expect(warnings[0]!.msg).toContain('EXECUTION_ID_PATTERN ^[0-9a-f]{8}');
    expect(warnings[0]!.msg).toContain('refuses every demo id (ex_demo_1 among them)');
    expect(warnings[0]!.msg).toContain('unset EXECUTION_ID_PATTERN');
    expect(output.stdout()).toContain('execution-gateway is serving the built-in demo data');
  }, 60_000);

  it('names the ids a narrower pattern refuses, and says nothing for the default or a pattern that takes them', () => {
    expect(demoIdsRefusedWarning(compileIdPattern('^ex_demo_[0-9]+$'))).toMatchObject({ fields: { refusedId: 'ex_demo_long', refused: 2 } });
    expect(demoIdsRefusedWarning(compileIdPattern('^ex_demo_[0-9]+$'))!.message).toContain('2 of the 10 demo ids (ex_demo_long among them)');
    expect(demoIdsRefusedWarning(compileIdPattern(DEFAULT_EXECUTION_ID_PATTERN))).toBeUndefined();
    expect(demoIdsRefusedWarning(compileIdPattern('^ex_[a-z0-9_]+$'))).toBeUndefined();
  });
});
