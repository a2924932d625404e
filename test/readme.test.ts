/** The README's generated parts stay what the code says (run `npm run generate` after a change). */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { withSettingsTables } from '../scripts/settings-table.js';
import { settingNames } from '../src/config.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('lists every setting with its default and meaning, as src/config.ts declares them', () => {
    expect(readme).toBe(withSettingsTables(readme));
    for (const name of settingNames()) expect(readme).toContain(`| \`${name}\` |`);
  });

  it('keeps the two-command quick start', () => {
    expect(readme).toContain('npm ci && npm start');
    expect(readme).toContain('npm test');
  });
});
