/**
 * The gateway reads its settings from the environment only. `npm start -- --port 4001`, as many servers take it,
 * served on PORT's port and said nothing of the `--port` it had been given. It now warns once at start, naming the
 * options given, never a value (one may be a secret), and pointing at the environment variable.
 */
import { describe, expect, it } from 'vitest';
import { ignoredArguments } from '../src/server/process.js';
import { outputOfStart } from './support/process-output.js';

const WARNING = /^command-line arguments .*are ignored: every setting is an environment variable, as in PORT=4001 npm start \(README "Configuration"\)$/;

describe('command-line arguments', () => {
  it('none: no warning', () => {
    expect(ignoredArguments([])).toBeUndefined();
  });

  it('names the options, cut at =, and no value', () => {
    const ignored = ignoredArguments(['--port', '4001', '--redis-url=redis://:secret@redis:6379']);
    expect(ignored!.fields).toEqual({ arguments: 3, options: ['--port', '--redis-url'] });
    expect(ignored!.message).toBe('command-line arguments (--port, --redis-url) are ignored: every setting is an environment variable, as in PORT=4001 npm start (README "Configuration")');
    expect(JSON.stringify(ignored)).not.toContain('secret');
  });

  it('given to the process, are one warning at start, and the gateway serves as configured', async () => {
    const output = await outputOfStart({ PORT: '0', METRICS: 'off', SHUTDOWN_UNREADY_MS: '0' }, { args: ['--port', '4001', '--token=hidden-value'] });
    const warnings = output.lines().filter((line) => WARNING.test(line.msg ?? ''));
    expect(warnings.map(({ level, arguments: count, options }) => ({ level, count, options }))).toEqual([{ level: 40, count: 3, options: ['--port', '--token'] }]);
    expect(output.stdout() + output.stderr()).not.toContain('hidden-value');
  }, 40_000);
});
