import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'web/src/**/*.test.ts'],
    // Tests start real servers on 127.0.0.x; forks isolate their sockets and handles per file.
    pool: 'forks',
    // Two files at once: most of a test's time is spent waiting on peers' rounds and sockets, not
    // on the CPU, so two workers on this 2-core machine halved the run when they came in (820 s →
    // 340 s; since then the suite grew: 825 s with two on 2026-12-05, the two network-namespace
    // tests real-hosts and churn-hosts ~190 s each, before they ran their independent steps
    // together: side by side under the same load, real-hosts 304 s against 418 s before, churn-hosts
    // 764 s against the 900 s timeout) while each file keeps its own loopback range
    // (test/support/loopback.ts, by VITEST_POOL_ID) and test bed namespaces. Vitest's default here
    // would be one (cores - 1).
    maxWorkers: 2,
    // A folder for the run: the ship tests pack the checkout and make its release there once.
    globalSetup: ['./test/support/ship-cache.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // In CI a line also marks each file's start, so a run that stalls names the file it stalled in.
    reporters: process.env.PEERSHARE_CI ? ['default', './test/support/start-reporter.ts'] : ['default'],
  },
});
