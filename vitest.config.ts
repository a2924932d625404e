import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // graphql ships both .mjs and .js; vite picks .mjs for our code while CJS
    // dependencies load .js, and graphql refuses to mix two copies. Pin one.
    alias: { graphql: require.resolve('graphql') },
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Each file starts its own loopback servers; two workers fit the 2-core machines CI runs on.
    maxWorkers: 2,
  },
});
