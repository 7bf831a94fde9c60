import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'web/src/**/*.test.ts'],
    // Tests start real servers on 127.0.0.x; forks isolate their sockets and handles per file.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // In CI a line also marks each file's start, so a run that stalls names the file it stalled in.
    reporters: process.env.PEERSHARE_CI ? ['default', './test/support/start-reporter.ts'] : ['default'],
  },
});
