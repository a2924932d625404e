/**
 * A `.env` file beside the gateway (UPSTREAM_URL=… written there, as for many Node services) was ignored in silence:
 * the gateway reads its environment only, and `npm start` served the demo data as if nothing had been set. Now one
 * warning at start names the file and the settings it sets that the environment lacks, never a value, and says how
 * to load it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { unloadedEnvFile } from '../src/config.js';
import { outputOfStart } from './support/process-output.js';

const directory = mkdtempSync(join(tmpdir(), 'newcomer5-env-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe('a .env file the gateway does not read', () => {
  it('is named at start with the settings it sets, never their values, and the demo still serves', async () => {
    writeFileSync(join(directory, '.env'), '# for the gateway\nUPSTREAM_URL=https://user:s3cret@api.example.com\nexport PORT=4100\nUNRELATED=1\nHOST = 0.0.0.0\n');
    // tsx takes 10-40 s to start on a loaded 2-core CI machine, and SIGTERM's default 5 s of unreadiness came on top of it.
    const output = await outputOfStart({ PORT: '0', METRICS: 'off', SHUTDOWN_UNREADY_MS: '0' }, { cwd: directory, withinMs: 50_000 });
    const warnings = output.lines().filter((line) => typeof line.msg === 'string' && line.msg.includes('.env'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 40, file: join(directory, '.env'), settings: ['UPSTREAM_URL', 'HOST'] });
    expect(warnings[0]!.msg).toBe(
      `${join(directory, '.env')} sets UPSTREAM_URL, HOST, which this process's environment lacks: the gateway reads its environment only, never a .env file. Load it first: \`set -a; . ./.env; set +a; npm start\`, or \`node --env-file=.env dist/main.js\``,
    );
    expect(output.stdout()).not.toContain('s3cret');
    expect(output.stdout()).toContain('execution-gateway is serving the built-in demo data');
  }, 60_000);

  it('says nothing without a file, or when the environment has every setting it names', () => {
    expect(unloadedEnvFile(join(directory, 'none'), {})).toBeUndefined();
    writeFileSync(join(directory, '.env'), 'UPSTREAM_URL=https://api.example.com\nOTHER=1\n');
    expect(unloadedEnvFile(directory, { UPSTREAM_URL: 'https://api.example.com' })).toBeUndefined();
    expect(unloadedEnvFile(directory, { UPSTREAM_URL: '' })).toEqual({ file: join(directory, '.env'), settings: ['UPSTREAM_URL'] });
  });
});
