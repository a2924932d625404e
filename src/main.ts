/** The gateway's entry point (`npm start`): see src/server/process.ts. */
import { run } from './server/process.js';

await run();
