/**
 * The README's configuration tables, made from the settings themselves
 * (src/config.ts), so a variable, its default and its meaning are written once.
 * `npm run generate` writes them between the `settings` markers; a test fails
 * when the README is stale.
 */
import { z } from 'zod';
import { SETTINGS } from '../src/config.js';

const TITLES: Record<keyof typeof SETTINGS, string> = {
  server: 'Server and HTTP edge',
  upstream: 'Upstream calls and resilience',
  cache: 'Caching',
  security: 'Clients and hostile input',
  live: 'Live executions (subscriptions)',
  sharedState: 'Scaling out (shared state in Redis)',
  telemetry: 'Logs and reporting',
};

function shownDefault(schema: z.ZodType): string {
  const parsed = schema.safeParse(undefined);
  if (!parsed.success || parsed.data === undefined) return '*(unset)*';
  const value: unknown = parsed.data;
  return `\`${value instanceof RegExp ? value.source : String(value)}\``;
}

/** The Markdown tables, one per group of settings. */
export function settingsTables(): string {
  const sections = Object.entries(SETTINGS).map(([group, settings]) => {
    const rows = Object.values(settings).map((each: { env: string; schema: z.ZodType; doc: string }) => `| \`${each.env}\` | ${shownDefault(each.schema)} | ${each.doc} |`);
    return [`${TITLES[group as keyof typeof SETTINGS]}:`, '', '| variable | default | meaning |', '|---|---|---|', ...rows].join('\n');
  });
  return `${sections.join('\n\n')}\n`;
}

export const SETTINGS_BEGIN = '<!-- settings:begin (npm run generate) -->';
export const SETTINGS_END = '<!-- settings:end -->';

/** The README with its settings section replaced by the current tables. */
export function withSettingsTables(readme: string): string {
  const begin = readme.indexOf(SETTINGS_BEGIN);
  const end = readme.indexOf(SETTINGS_END);
  if (begin === -1 || end < begin) throw new Error('README.md lacks the settings markers');
  return `${readme.slice(0, begin + SETTINGS_BEGIN.length)}\n${settingsTables()}${readme.slice(end)}`;
}
