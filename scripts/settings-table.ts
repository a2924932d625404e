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
  operations: 'Operation limits',
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

/** What a setting accepts, in words; undefined when the meaning already says its form (a URL, a pattern). */
export function allowedValues(schema: z.ZodType): string | undefined {
  if (schema instanceof z.ZodDefault || schema instanceof z.ZodPrefault || schema instanceof z.ZodOptional) return allowedValues(schema.unwrap() as z.ZodType);
  // A pipe's output says the range of a number read from text; its input the words of a flag read as a boolean.
  if (schema instanceof z.ZodPipe) return allowedValues(schema.out as z.ZodType) ?? allowedValues(schema.in as z.ZodType);
  if (schema instanceof z.ZodEnum) return schema.options.map((option) => `\`${String(option)}\``).join(', ');
  if (schema instanceof z.ZodNumber) {
    const { minValue: min, maxValue: max } = schema;
    if (Number.isFinite(min) && Number.isFinite(max)) return `\`${min}\`–\`${max}\``;
    if (Number.isFinite(min)) return `≥ \`${min}\``;
    if (Number.isFinite(max)) return `≤ \`${max}\``;
    return undefined;
  }
  if (schema instanceof z.ZodString) {
    const { minLength: min, maxLength: max } = schema;
    if (max !== null) return `${min ?? 0}–${max} characters`;
    if (min !== null && min > 1) return `at least ${min} characters`;
  }
  return undefined;
}

/** The Markdown tables, one per group of settings. */
export function settingsTables(): string {
  const sections = Object.entries(SETTINGS).map(([group, settings]) => {
    const rows = Object.values(settings).map(
      (each: { env: string; schema: z.ZodType; doc: string }) => `| \`${each.env}\` | ${shownDefault(each.schema)} | ${allowedValues(each.schema) ?? '—'} | ${each.doc} |`,
    );
    return [`${TITLES[group as keyof typeof SETTINGS]}:`, '', '| variable | default | allowed | meaning |', '|---|---|---|---|', ...rows].join('\n');
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
