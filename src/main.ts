/** The gateway's entry point (`npm start`): see src/server/process.ts. */
import { stopWhileStarting } from './server/starting-signals.js';

// Before the rest of the modules load (a second or more), so a signal meanwhile is told of (./server/starting-signals.ts).
const handOver = stopWhileStarting();
const { run } = await import('./server/process.js');
await run(handOver);
