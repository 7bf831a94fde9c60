/**
 * The rules of the hexagon, checked by `npm run lint`.
 * - Domain code is pure: it imports no adapter, no service factory and no I/O module.
 * - Services do not reach into each other: each of the five (the Client too, which drives the
 *   others through ports) is a hexagon of its own; only the composition root (src/peer) names
 *   several services.
 * - Layers, from the bottom: the shared core (src/shared), the services, the composition root
 *   (src/peer), the demo (src/demo), the `peershare` command (src/cli). Nothing imports a layer
 *   above its own.
 * - Test helpers stay out of what ships: nothing in src/ but a *.test.ts imports test/.
 * - No dead files: every module in src/ is reached from an entry point (tests are left out of
 *   the graph, so a module only tests use is a test helper, and belongs in test/support).
 */
const IO_MODULES = [
  'fs', 'fs/promises', 'net', 'http', 'https', 'http2', 'tls', 'dgram', 'dns', 'child_process',
  'worker_threads', 'cluster', 'readline', 'os',
];
// prom-client too: domain counters are plain fields, which each service's GET /metrics reads (shared/metrics.ts).
const IO_PACKAGES = ['better-sqlite3', 'fastify', '@fastify/.*', 'undici', 'amqplib', 'rabbitmq-client', 'pino', 'prom-client'];
const SERVICES = ['files', 'search', 'fetch', 'download'];
/** Each service and the Client: hexagons that name no other. */
const HEXAGONS = [...SERVICES, 'client'];
/** Above the services, bottom to top: the composition root, the demo, the `peershare` command. */
const ABOVE = ['peer', 'demo', 'cli'];
/** Where a program starts: bin/peershare.js runs src/cli/main.ts (dist/cli/main.js), `npm run sim` src/sim/cli.ts. */
const ENTRY_POINTS = ['^src/cli/main\\.ts$', '^src/sim/cli\\.ts$'];

module.exports = {
  forbidden: [
    {
      name: 'domain-is-pure-of-adapters',
      comment: 'Domain code must not import adapters (a command line is one), service factories, the composition root or anything above it.',
      severity: 'error',
      from: { path: '^src/[^/]+/domain/' },
      to: {
        path: [
          '^src/[^/]+/adapters/',
          '^src/[^/]+/cli/',
          '^src/[^/]+/service\\.ts$',
          `^src/(${ABOVE.join('|')})/`,
          '^src/shared/(http-server|admin-guard|logging|identity|config|metrics)\\.ts$',
        ],
      },
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
    ...HEXAGONS.map((service) => ({
      name: `${service}-stays-in-its-hexagon`,
      comment: `The ${service} service must not import another service's code, the composition root, the demo or the command; it declares a port instead.`,
      severity: 'error',
      from: { path: `^src/${service}/` },
      to: { path: `^src/(${[...HEXAGONS.filter((s) => s !== service), ...ABOVE].join('|')})/` },
    })),
    {
      name: 'shared-depends-on-no-service',
      severity: 'error',
      from: { path: '^src/shared/' },
      to: { path: `^src/(${[...HEXAGONS, ...ABOVE].join('|')})/` },
    },
    ...ABOVE.slice(0, -1).map((layer, i) => ({
      name: `${layer}-imports-no-layer-above`,
      comment: `Layers above the services, bottom to top: ${ABOVE.join(', ')}. src/${layer} must not import ${ABOVE.slice(i + 1).join(' or ')}: the command starts peers and the demo, not the other way round.`,
      severity: 'error',
      from: { path: `^src/${layer}/` },
      to: { path: `^src/(${ABOVE.slice(i + 1).join('|')})/` },
    })),
    {
      name: 'sim-runs-domain-code-only',
      comment: 'The simulator (src/sim) drives services\' domain code over an in-memory network: adapters, service factories and the composition root would bring sockets and timers into simulated time.',
      severity: 'error',
      from: { path: '^src/sim/' },
      to: { path: ['^src/[^/]+/adapters/', '^src/[^/]+/service\\.ts$', `^src/(${ABOVE.join('|')})/`] },
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
      name: 'no-dead-files',
      comment: 'Every module in src/ is reached from an entry point (src/cli/main.ts, src/sim/cli.ts). Tests are not in the graph: a module only tests import is a test helper (move it to test/support), one nothing imports is dead (delete it). Stronger than no-orphans, which passes a module that imports something.',
      severity: 'error',
      from: { path: ENTRY_POINTS.join('|') },
      to: { path: '^src/', pathNot: [...ENTRY_POINTS, '\\.test\\.ts$'], reachable: false },
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
