/** The README's generated parts stay what the code says (run `npm run generate` after a change). */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { withSettingsTables } from '../scripts/settings-table.js';
import { ConfigError, readConfig, settingNames } from '../src/config.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const history = readFileSync(new URL('../docs/performance.md', import.meta.url), 'utf8');
const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };

describe('README', () => {
  it('lists every setting with its default and meaning, as src/config.ts declares them', () => {
    expect(readme).toBe(withSettingsTables(readme));
    for (const name of settingNames()) expect(readme).toContain(`| \`${name}\` |`);
  });

  it('shows each number setting\'s range, and start-up accepts its bounds and refuses just past them', () => {
    const ranges = [...readme.matchAll(/^\| `([A-Z_]+)` \| [^|]+ \| `([\d.]+)`–`([\d.]+)` \|/gm)].map(([, name, min, max]) => ({ name: name!, min: Number(min), max: Number(max) }));
    expect(ranges.map(({ name }) => name)).toEqual(expect.arrayContaining(['MAX_REQUEST_BODY_BYTES', 'UPSTREAM_TIMEOUT_MS', 'TERMINAL_CACHE_TTL_MS']));
    expect(ranges.find(({ name }) => name === 'MAX_REQUEST_BODY_BYTES')).toEqual({ name: 'MAX_REQUEST_BODY_BYTES', min: 256, max: 16 * 1024 * 1024 });
    // A setting bounded by another (src/config.ts refuses the contradiction) is tried with its partner where it allows the value.
    const partners: Record<string, (value: number) => Record<string, string>> = {
      UPSTREAM_RETRY_BASE_DELAY_MS: () => ({ UPSTREAM_RETRY_MAX_DELAY_MS: '60000' }),
      LIVE_MAX_SUBSCRIPTIONS_PER_CALLER: () => ({ LIVE_MAX_SUBSCRIPTIONS: '10000000' }),
      // The pool and a caller's share are held to the bulkhead.
      UPSTREAM_CONNECTIONS: (value) => ({ UPSTREAM_MAX_CONCURRENT: String(Math.min(Math.max(value, 1), 100_000)) }),
      UPSTREAM_MAX_CONCURRENT_PER_CALLER: (value) => ({ UPSTREAM_MAX_CONCURRENT: String(Math.min(Math.max(value, 1), 100_000)) }),
      // The data fields' depth is held to the depth of any operation.
      OPERATION_MAX_DEPTH: () => ({ OPERATION_MAX_INTROSPECTION_DEPTH: '100' }),
      OPERATION_MAX_INTROSPECTION_DEPTH: (value) => ({ OPERATION_MAX_DEPTH: String(Math.min(Math.max(value, 1), 100)) }),
    };
    const withPartner = (name: string, value: number) => ({ ...partners[name]?.(value), [name]: String(value) });
    for (const { name, min, max } of ranges) {
      expect(() => readConfig(withPartner(name, min)), name).not.toThrow();
      expect(() => readConfig(withPartner(name, max)), name).not.toThrow();
      expect(() => readConfig(withPartner(name, min - 1)), name).toThrow(ConfigError);
      expect(() => readConfig(withPartner(name, max + 1)), name).toThrow(ConfigError);
    }
  });

  // The README's Performance section keeps today's figures; every earlier run and round is in docs/performance.md.
  it.each([
    ['README', readme],
    ['docs/performance.md', history],
  ])('has the section every `%s "…"` pointer in the code names', (file, text) => {
    const headings = new Set([...text.matchAll(/^#+ (.+)$/gm)].map(([, title]) => title!.trim()));
    // A paragraph's bold lead-in is a section too (e.g. **Warnings** under "When upstream data is odd").
    const leads = [...text.matchAll(/\*\*([^*]+)\*\*/g)].map(([, lead]) => lead!);
    const found = (title: string) => headings.has(title) || leads.some((lead) => lead.startsWith(title));
    const pointer = new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} "([^"]+)"`, 'g');
    const pointers: string[] = [];
    for (const folder of ['src', 'bench', 'scripts', 'test']) {
      for (const name of readdirSync(new URL(`../${folder}/`, import.meta.url), { recursive: true, encoding: 'utf8' })) {
        if (!/\.(ts|mjs|js|sh)$/.test(name) || name === 'readme.test.ts') continue;
        // A pointer may break over comment lines: join them first.
        const code = readFileSync(new URL(`../${folder}/${name}`, import.meta.url), 'utf8').replace(/\n\s*(\*|\/\/|#)\s*/g, ' ');
        for (const [, title] of code.matchAll(pointer)) pointers.push(`${folder}/${name}: ${title}`);
      }
    }
    expect(pointers.length).toBeGreaterThan(file === 'README' ? 50 : 10);
    // "Operating → Traces" names the section by its path: the last step is the heading.
    expect(pointers.filter((each) => !found(each.slice(each.indexOf(': ') + 2).split(' → ').at(-1)!))).toEqual([]);
  });

  // A project that copies the client installs what this line names: a package left out failed its compile (TS2307) and its load.
  it('names every package the typed client imports, at the version package.json pins, in its install line', () => {
    const pins: Record<string, string> = { ...manifest.dependencies, ...manifest.devDependencies };
    const imported = new Set<string>();
    const files = [...readdirSync(new URL('../src/client/', import.meta.url)).map((name) => `src/client/${name}`), 'src/client-contract.ts'];
    for (const file of files) {
      const code = readFileSync(new URL(`../${file}`, import.meta.url), 'utf8');
      for (const [, specifier] of code.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+'([^']+)'/gm)) {
        if (specifier!.startsWith('.') || specifier!.startsWith('node:')) continue;
        imported.add(specifier!.split('/').slice(0, specifier!.startsWith('@') ? 2 : 1).join('/'));
      }
    }
    expect([...imported]).toEqual(expect.arrayContaining(['graphql-request', 'graphql-sse', 'graphql-ws']));
    const installs = [...readme.matchAll(/^npm install --save-exact (.+)$/gm)].map(([, rest]) => [...rest!.matchAll(/(?:^|\s)((?:@[\w.-]+\/)?[\w.-]+)@(\d[\w.-]*)/g)].map(([, name, version]) => ({ name: name!, version: version! })));
    expect(installs[0]!.map(({ name }) => name).sort()).toEqual([...imported].sort());
    for (const { name, version } of installs.flat()) expect(version, name).toBe(pins[name]);
  });

  it('keeps the two-command quick start', () => {
    expect(readme).toContain('npm ci && npm start');
    expect(readme).toContain('npm test');
  });
});
