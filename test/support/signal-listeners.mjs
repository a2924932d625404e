// Preloaded (`--import`) into a gateway a test starts: says on stderr when the process first listens for SIGTERM,
// so the test can send it then, wherever start-up is (test/shutdown.test.ts). Node starts catching the signal
// before this hears of the listener; src/server/starting-signals.ts adds SIGINT's before SIGTERM's.
let told = false;
process.on('newListener', (event) => {
  if (event !== 'SIGTERM' || told) return;
  told = true;
  process.stderr.write(`test: listening for SIGTERM after ${Math.round(performance.now())} ms\n`);
});
