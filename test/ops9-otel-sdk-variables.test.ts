/**
 * The tracing SDK's own variables, which README "Traces" says the exporter and the batch processor read
 * (OTEL_BSP_*, OTEL_EXPORTER_OTLP_[TRACES_]TIMEOUT, _COMPRESSION, _HEADERS). The SDK told a value it could not take
 * only to its diagnostic logger, which the gateway does not set, and went on: `OTEL_BSP_MAX_QUEUE_SIZE=0` dropped
 * every span (the warning blamed a slow collector), a headers value with no `=` sent no header, so a collector that
 * wants a key refused every batch, and `10s` or `zstd` were the defaults. With tracing on, each now stops start-up
 * in one line naming the variable and a value it takes; a headers value is never quoted.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { configRefusal as refusal } from './support/config-refusal.js';

const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

const TRACING = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' };

describe("the tracing SDK's variables", () => {
  it('a queue of 0 or less, which dropped every span, stops start-up naming the variable and a value it takes', () => {
    expect(refusal({ ...TRACING, OTEL_BSP_MAX_QUEUE_SIZE: '0' })).toBe('Invalid OTEL_BSP_MAX_QUEUE_SIZE="0": must be a whole number of at least 1, as in OTEL_BSP_MAX_QUEUE_SIZE=2048.');
    expect(refusal({ ...TRACING, OTEL_BSP_MAX_QUEUE_SIZE: '-5' })).toContain('Invalid OTEL_BSP_MAX_QUEUE_SIZE="-5"');
    expect(refusal({ ...TRACING, OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '0' })).toContain('Invalid OTEL_BSP_MAX_EXPORT_BATCH_SIZE="0"');
  });

  it('a time with a unit or a compression the exporter lacks, which it replaced by its default, stops start-up', () => {
    expect(refusal({ ...TRACING, OTEL_EXPORTER_OTLP_TIMEOUT: '10s' })).toBe(
      'Invalid OTEL_EXPORTER_OTLP_TIMEOUT="10s": must be a whole number of milliseconds of at least 1, as in OTEL_EXPORTER_OTLP_TIMEOUT=10000.',
    );
    expect(refusal({ ...TRACING, OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '0' })).toContain('Invalid OTEL_EXPORTER_OTLP_TRACES_TIMEOUT="0"');
    expect(refusal({ ...TRACING, OTEL_BSP_SCHEDULE_DELAY: 'abc' })).toContain('Invalid OTEL_BSP_SCHEDULE_DELAY="abc"');
    expect(refusal({ ...TRACING, OTEL_BSP_EXPORT_TIMEOUT: '30 s' })).toContain('Invalid OTEL_BSP_EXPORT_TIMEOUT="30 s"');
    expect(refusal({ ...TRACING, OTEL_EXPORTER_OTLP_COMPRESSION: 'zstd' })).toBe('Invalid OTEL_EXPORTER_OTLP_COMPRESSION="zstd": must be gzip or none, as in OTEL_EXPORTER_OTLP_COMPRESSION=gzip.');
  });

  it("a time past node's longest timer, which node ran after 1 ms (every export cut at once), stops start-up", () => {
    // 2^31 - 1 ms (24.8 days) is the most setTimeout takes: past it node warns TimeoutOverflowWarning on stderr and
    // sets 1 ms, so OTEL_EXPORTER_OTLP_TIMEOUT=3000000000, meant as "never", timed out every export.
    for (const name of ['OTEL_EXPORTER_OTLP_TIMEOUT', 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT', 'OTEL_BSP_SCHEDULE_DELAY', 'OTEL_BSP_EXPORT_TIMEOUT']) {
      expect(refusal({ ...TRACING, [name]: '3000000000' })).toMatch(
        new RegExp(`^Invalid ${name}="3000000000": must be a whole number of milliseconds of at most 2147483647 \\(node's longest timer: a longer one runs after 1 ms\\), as in ${name}=\\d+\\.$`),
      );
      expect(refusal({ ...TRACING, [name]: '2147483647' })).toBeUndefined();
    }
    // A count has no such bound.
    expect(refusal({ ...TRACING, OTEL_BSP_MAX_QUEUE_SIZE: '3000000000', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '3000000000' })).toBeUndefined();
  });

  it('headers the exporter would leave out are refused by their place, never quoted', () => {
    const line = refusal({ ...TRACING, OTEL_EXPORTER_OTLP_HEADERS: 'x-tenant=prod,Authorization Bearer s3cret-key' });
    expect(line).toMatch(/^Invalid OTEL_EXPORTER_OTLP_HEADERS=\(hidden\): entry 2 of 2 is not a header name/);
    expect(line).toContain('as in OTEL_EXPORTER_OTLP_HEADERS=x-api-key=abc123,x-tenant=prod');
    expect(line).not.toContain('s3cret');
    // A rollout learns of it from the first replica's refusal: README's upgrade notes list it.
    expect(README).toContain("the tracing SDK's own `OTEL_BSP_*`, `OTEL_EXPORTER_OTLP_[TRACES_]TIMEOUT`, `_COMPRESSION` and `_HEADERS` values");
    expect(refusal({ ...TRACING, OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-api-key=s3cret%zz' })).toContain('Invalid OTEL_EXPORTER_OTLP_TRACES_HEADERS=(hidden): entry 1 of 1');
    expect(refusal({ ...TRACING, OTEL_EXPORTER_OTLP_HEADERS: 'cookie=a=1;b=2' })).toContain('entry 1 of 1');
    // Refused once decoded, as the SDK decodes them: node's http would refuse every export with them.
    expect(refusal({ ...TRACING, OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=abc,x%20y=1' })).toContain('entry 2 of 2');
    expect(refusal({ ...TRACING, OTEL_EXPORTER_OTLP_HEADERS: 'a=%0Ab' })).toContain('entry 1 of 1');
    expect(refusal({ ...TRACING, OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=%00' })).toContain('entry 1 of 1');
  });

  it('every value the SDK reads as meant is taken, and with tracing off nothing is checked', () => {
    expect(
      refusal({
        ...TRACING,
        OTEL_EXPORTER_OTLP_HEADERS: 'Authorization=Basic%20dXNlcjpwYXNz,x-api-key=abc==',
        OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-tenant = prod,cookie=a=1%3Bb=2,',
        OTEL_EXPORTER_OTLP_TIMEOUT: '10000',
        OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
        OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: 'none',
        OTEL_BSP_MAX_QUEUE_SIZE: '20',
        OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '10',
        OTEL_BSP_SCHEDULE_DELAY: '0',
        OTEL_BSP_EXPORT_TIMEOUT: '30000',
        OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '',
      }),
    ).toBeUndefined();
    expect(refusal({ OTEL_BSP_MAX_QUEUE_SIZE: '0', OTEL_EXPORTER_OTLP_HEADERS: 'nonsense' })).toBeUndefined();
    expect(refusal({ ...TRACING, OTEL_SDK_DISABLED: 'true', OTEL_BSP_MAX_QUEUE_SIZE: '0' })).toBeUndefined();
  });

  it('a value the SDK reads after trimming it, or as Number() reads it, is taken: start-up is no stricter than the SDK', () => {
    expect(
      refusal({
        ...TRACING,
        OTEL_EXPORTER_OTLP_TIMEOUT: ' 10000',
        OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '1e4',
        OTEL_BSP_MAX_QUEUE_SIZE: '2048.0',
        OTEL_BSP_SCHEDULE_DELAY: '   ',
        OTEL_EXPORTER_OTLP_COMPRESSION: ' gzip ',
        OTEL_EXPORTER_OTLP_HEADERS: ' ',
      }),
    ).toBeUndefined();
    // What Number() leaves no whole number of is still refused.
    expect(refusal({ ...TRACING, OTEL_BSP_MAX_QUEUE_SIZE: '20.5' })).toContain('Invalid OTEL_BSP_MAX_QUEUE_SIZE="20.5"');
    expect(refusal({ ...TRACING, OTEL_EXPORTER_OTLP_TIMEOUT: ' 10 s ' })).toContain('Invalid OTEL_EXPORTER_OTLP_TIMEOUT=" 10 s "');
  });

  it('the process refuses to start, exit 1, with the line on stderr', () => {
    const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
    const run = spawnSync(process.execPath, ['--import', import.meta.resolve('tsx'), main], {
      env: { PATH: process.env.PATH, PORT: '0', METRICS: 'off', ...TRACING, OTEL_BSP_MAX_QUEUE_SIZE: '0' },
      encoding: 'utf8',
      // tsx takes 10-40 s to start on a loaded 2-core machine: what is tested is what it writes, not how soon.
      timeout: 50_000,
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('Invalid OTEL_BSP_MAX_QUEUE_SIZE="0": must be a whole number of at least 1');
  }, 60_000);
});
