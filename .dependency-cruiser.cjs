/**
 * The rules of the hexagon, checked by `npm run lint`.
 * - Domain code is pure: it imports no adapter, no service factory and no I/O module.
 * - Services do not reach into each other: only the composition root (src/peer) and the
 *   Client (which drives the others through their APIs) may name several services.
 * - The shared core depends on no service.
 * - Test helpers stay out of what ships: nothing in src/ but a *.test.ts imports test/.
 */
const IO_MODULES = [
  'fs', 'fs/promises', 'net', 'http', 'https', 'http2', 'tls', 'dgram', 'dns', 'child_process',
  'worker_threads', 'cluster', 'readline', 'os',
];
// prom-client too: domain counters are plain fields, which each service's GET /metrics reads (shared/metrics.ts).
const IO_PACKAGES = ['better-sqlite3', 'fastify', '@fastify/.*', 'undici', 'amqplib', 'rabbitmq-client', 'pino', 'prom-client'];
const SERVICES = ['files', 'search', 'fetch', 'download'];

module.exports = {
  forbidden: [
    {
      name: 'domain-is-pure-of-adapters',
      comment: 'Domain code must not import adapters, service factories or the composition root.',
      severity: 'error',
      from: { path: '^src/[^/]+/domain/' },
      to: { path: ['^src/[^/]+/adapters/', '^src/[^/]+/service\\.ts$', '^src/peer/', '^src/shared/(http-server|admin-guard|logging|identity|config|metrics)\\.ts$'] },
    },
    {
      name: 'domain-does-no-io',
      comment: 'Domain code must not import I/O modules; it reaches the world through its ports.',
      severity: 'error',
      from: { path: '^src/[^/]+/domain/' },
      to: {
        dependencyTypes: ['core', 'npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown'],
        path: [`^(node:)?(${IO_MODULES.join('|')})$`, `^(${IO_PACKAGES.join('|')})`, `node_modules/(${IO_PACKAGES.join('|')})/`],
      },
    },
    ...SERVICES.map((service) => ({
      name: `${service}-stays-in-its-hexagon`,
      comment: `The ${service} service must not import another service's code; it declares a port instead.`,
      severity: 'error',
      from: { path: `^src/${service}/` },
      to: { path: `^src/(${SERVICES.filter((s) => s !== service).join('|')}|client|peer)/` },
    })),
    {
      name: 'shared-depends-on-no-service',
      severity: 'error',
      from: { path: '^src/shared/' },
      to: { path: `^src/(${SERVICES.join('|')}|client|peer)/` },
    },
    {
      name: 'sim-runs-domain-code-only',
      comment: 'The simulator (src/sim) drives services\' domain code over an in-memory network: adapters, service factories and the composition root would bring sockets and timers into simulated time.',
      severity: 'error',
      from: { path: '^src/sim/' },
      to: { path: ['^src/[^/]+/adapters/', '^src/[^/]+/service\\.ts$', '^src/peer/'] },
    },
    {
      name: 'nothing-depends-on-sim',
      comment: 'The simulator is a measuring tool (npm run sim), not part of a peer; it is left out of the build.',
      severity: 'error',
      from: { pathNot: '^src/sim/' },
      to: { path: '^src/sim/' },
    },
    {
      name: 'test-helpers-stay-out-of-src',
      comment: 'Test helpers live in test/support, not in src/, so they are not compiled into dist/ and shipped: only tests (*.test.ts, which the build leaves out) may import test/.',
      severity: 'error',
      from: { path: '^src/', pathNot: '\\.test\\.ts$' },
      to: { path: '^test/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '\\.test\\.ts$' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
