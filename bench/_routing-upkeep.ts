/**
 * The worker of bench/routing.ts: one peer's route-table upkeep with the code of the checkout at
 * ROOT (this one, or BENCH_ROUTING_BASE's). Its SearchEngine (4 levels) runs on a manual clock
 * and sends tables through one LinkRouteTables per link, sharing the encodings where the
 * checkout has them, as link-manager.ts does. 8 links whose tables have 2^18 bits, as full as the
 * simulator measured the levels at 10,000 peers (0.1, 0.9, 4.6 and 18 %); then EVENTS times a
 * link closes and a new one comes up and sends its 4 tables a moment later, and the clock runs
 * on until every update has gone. Tables are drawn beforehand with a fixed seed, so only the
 * upkeep is timed (decoding what arrives, ≈ 0.15 ms a table, is not in it). Prints one line of JSON.
 */
import type { RouteTable as Table } from '../src/protocol/route-table.ts';
import type { LinkId } from '../src/search/ports.ts';

type RouteTableModule = typeof import('../src/protocol/route-table.ts');
type EngineModule = typeof import('../src/search/domain/search-engine.ts');
type ClockModule = typeof import('../test/support/manual-clock.ts');
type LinkTablesModule = Partial<typeof import('../src/search/adapters/tcp/route-tables.ts')> &
  Pick<typeof import('../src/search/adapters/tcp/route-tables.ts'), 'LinkRouteTables'>;

const ROOT = process.env.ROOT!;
const EVENTS = Number(process.env.EVENTS ?? 40);
const LINKS = 8;
const FILL = [0.001, 0.009, 0.046, 0.18];
/** From a link coming up to its tables arriving. */
const ROUND_TRIP_MS = 5;
/** Long enough for every update a change causes (the wait for tables, then one update interval). */
const SETTLE_MS = 10_000;

const { RouteTable } = (await import(`${ROOT}/src/protocol/route-table.ts`)) as RouteTableModule;
const { SearchEngine } = (await import(`${ROOT}/src/search/domain/search-engine.ts`)) as EngineModule;
const { ManualClock } = (await import(`${ROOT}/test/support/manual-clock.ts`)) as ClockModule;
const linkTables = (await import(`${ROOT}/src/search/adapters/tcp/route-tables.ts`)) as LinkTablesModule;

let seed = 1;
const draw = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
function tableOf(fill: number): Table {
  const table = RouteTable.empty(18);
  // Keys drawn at random set about this many bits (a few collide).
  for (let i = Math.round(fill * 2 ** 18 * 1.1); i > 0; i--) table.addId(`k${draw()}`);
  return table;
}

const own = tableOf(0.0005);
const clock = new ManualClock();
const encodings = linkTables.RouteTableEncodings ? new linkTables.RouteTableEncodings() : undefined;
const carried = new Map<LinkId, InstanceType<LinkTablesModule['LinkRouteTables']>>();
let ids: LinkId[] = [];
let messages = 0;
let bytes = 0;
const engine = new SearchEngine({
  identity: { peerId: 'me', publicKey: Buffer.alloc(32), sign: () => Buffer.alloc(64) },
  searchAddress: () => 'me:1',
  filesAddress: () => 'me:2',
  index: {
    parseTerms: (text) => text.split(' '),
    match: () => Promise.resolve([]),
    lookup: () => Promise.resolve([]),
    routeTable: () => Promise.resolve(own),
  },
  links: {
    ids: () => ids,
    sendQuery: () => true,
    sendHit: () => true,
    disconnect: () => {},
    sendRouteTable(link, level, table) {
      const routes = carried.get(link)!;
      const message = routes.outgoing(level, table);
      if (message === undefined) return true;
      routes.recordSent(level, table);
      messages += 1;
      bytes += message.data?.length ?? 0;
      return true;
    },
  },
  clock,
  randomBytes: (k) => Uint8Array.from({ length: k }, () => Math.floor(draw() * 256)),
  routing: { levels: 4 },
});

let nextLink = 0;
async function connect(tables: readonly Table[]): Promise<void> {
  const id = `link-${nextLink++}`;
  carried.set(id, new linkTables.LinkRouteTables(encodings));
  ids = [...ids, id];
  engine.linkReady(id);
  await clock.advance(ROUND_TRIP_MS);
  tables.forEach((table, level) => engine.receiveRouteTable(id, level, table));
}

engine.startRouting();
await clock.advance(0);
for (let i = 0; i < LINKS; i++) await connect(FILL.map((fill) => tableOf(fill)));
await clock.advance(SETTLE_MS);
[messages, bytes] = [0, 0];
const arriving = Array.from({ length: EVENTS }, () => FILL.map((fill) => tableOf(fill)));

const start = process.cpuUsage();
for (const tables of arriving) {
  const gone = ids[Math.floor(draw() * ids.length)]!;
  ids = ids.filter((id) => id !== gone);
  carried.delete(gone);
  engine.linkClosed(gone);
  await connect(tables);
  await clock.advance(SETTLE_MS);
}
const cpu = process.cpuUsage(start);
engine.stopRouting();
console.log(
  JSON.stringify({
    cpuMsPerChange: (cpu.user + cpu.system) / 1000 / EVENTS,
    messagesPerChange: messages / EVENTS,
    kibPerChange: bytes / 1024 / EVENTS,
  }),
);
