/**
 * Preloaded into a gateway by test/redis-console.test.ts
 * (`node --import tsx --import ./test/support/console-writer.ts src/main.ts`): plays a library that prints the
 * same warning with console.warn three times, once the gateway has made the console write log lines, then says
 * `written` on stderr.
 */
const original = console.warn;
const timer = setInterval(() => {
  if (console.warn === original) return;
  clearInterval(timer);
  for (let time = 0; time < 3; time++) console.warn('[library] the same warning again');
  process.stderr.write('written\n');
}, 10);
timer.unref();
