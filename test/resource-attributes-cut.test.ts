import { expect, it } from 'vitest';
import { ConfigError, readConfig } from '../src/config.js';

it('a refused OTEL_RESOURCE_ATTRIBUTES pair is quoted in whole characters: an emoji at the 40-character cut is left out, not halved', () => {
  const pair = `${'x'.repeat(39)}😀tail`;
  let message = '';
  try {
    readConfig({ OTEL_RESOURCE_ATTRIBUTES: pair });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    message = (error as Error).message;
  }
  expect(message).toContain(`"${'x'.repeat(39)}" is not key=value`);
  // A lone high surrogate is no character: a log shipper writes it as U+FFFD or `\ud83d`.
  expect(message).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
});
