/**
 * Query routing tables over real TLS links (feature "qrp", docs/PROTOCOL.md §12), at the link
 * manager: a table one peer sends arrives decoded at the other's handler, a changed table arrives
 * as the new table (sent as a patch), a link to a peer that does not list "qrp" carries none, and
 * a table that does not decode closes its link, telling the peer why.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import { describe, expect, it, onTestFinished } from 'vitest';
import { create } from '@bufbuild/protobuf';
import { QuerySchema } from '../../src/protocol/gen/wire_pb.ts';
import { encodeRouteTable, RouteTable } from '../../src/protocol/route-table.ts';
import { LinkManager, type LinkHandler } from '../../src/search/adapters/tcp/link-manager.ts';
import { TlsTransport } from '../../src/search/adapters/tcp/tls-transport.ts';
import type { LinkId, NeighbourCandidate } from '../../src/search/ports.ts';
import { DEFAULT_PORTS } from '../../src/shared/config.ts';
import { wireCode } from '../../src/shared/errors.ts';
import { silentLogger } from '../../src/shared/logging.ts';
import { nextLoopback } from '../support/loopback.ts';
import { rawNeighbour } from '../support/raw-neighbour.ts';
import { testIdentity } from '../support/testnet.ts';

interface ReceivedTable {
  link: LinkId;
  level: number;
  table: RouteTable;
}

/** A LinkHandler that records what the link manager hands it, and says when. */
class RecordingHandler implements LinkHandler {
  readonly events = new EventEmitter<{ table: [ReceivedTable]; ready: [LinkId]; closed: [LinkId] }>();
  readonly tables: ReceivedTable[] = [];
  readonly ready: LinkId[] = [];
  readonly closed: LinkId[] = [];
  receiveQuery(): void {}
  receiveHit(): void {}
  receiveRouteTable(link: LinkId, level: number, table: RouteTable): void {
    const received = { link, level, table };
    this.tables.push(received);
    this.events.emit('table', received);
  }
  linkReady(link: LinkId): void {
    this.ready.push(link);
    this.events.emit('ready', link);
  }
  linkClosed(link: LinkId): void {
    this.closed.push(link);
    this.events.emit('closed', link);
  }
  /** The next table handed over (or the one already handed over, at index `at`). */
  async table(at: number): Promise<ReceivedTable> {
    while (this.tables.length <= at) await once(this.events, 'table');
    return this.tables[at]!;
  }
  async linkUp(count: number): Promise<void> {
    while (this.ready.length < count) await once(this.events, 'ready');
  }
}

interface Node {
  readonly links: LinkManager;
  readonly handler: RecordingHandler;
  readonly peerId: string;
  readonly searchAddress: string;
}

/** A link manager on its own loopback address, over TLS with its own identity, dialling `candidates`. */
async function node(candidates: NeighbourCandidate[] = []): Promise<Node> {
  const host = nextLoopback();
  const { identity, tls } = await testIdentity();
  const searchAddress = `${host}:${DEFAULT_PORTS.searchPort}`;
  const links = new LinkManager({
    transport: new TlsTransport(tls, host, silentLogger()),
    neighbours: { candidates: () => candidates },
    hello: () => ({
      peerId: identity.peerId,
      publicKey: identity.publicKey,
      searchAddress,
      filesAddress: `${host}:${DEFAULT_PORTS.filesPort}`,
    }),
    logger: silentLogger(),
    maintainIntervalMs: 100,
    backoff: { baseMs: 50, maxMs: 1_000 },
  });
  const handler = new RecordingHandler();
  links.bind(handler);
  await links.start(host, DEFAULT_PORTS.searchPort);
  onTestFinished(() => links.stop());
  return { links, handler, peerId: identity.peerId, searchAddress };
}

function tableOf(log2: number, ...tokens: string[]): RouteTable {
  const table = RouteTable.empty(log2);
  table.addTokens(tokens);
  return table;
}

/** The id `at` gives its ready link to `peerId`. */
function linkTo(at: Node, peerId: string): LinkId {
  const link = at.links.linkTo(peerId);
  if (link === undefined) throw new Error(`no link to ${peerId}`);
  return link;
}

describe('route tables over real TLS links', () => {
  it('arrive decoded at the neighbour, per level, and a changed table arrives as the new one', async () => {
    const b = await node();
    const a = await node([{ searchAddress: b.searchAddress, peerId: b.peerId }]);
    await Promise.all([a.handler.linkUp(1), b.handler.linkUp(1)]);
    const ab = linkTo(a, b.peerId);
    const ba = linkTo(b, a.peerId);
    expect(a.handler.ready).toEqual([ab]);
    expect(b.handler.ready).toEqual([ba]);

    // Dense enough that a whole table costs far more than a patch of one more word.
    const own = tableOf(13, 'ubuntu', 'iso', ...Array.from({ length: 300 }, (_, i) => `word${i}`));
    expect(a.links.sendRouteTable(ab, 0, own)).toBe(true);
    const wholeBytes = a.links.counters.routeTables.bytesSent;
    expect(wholeBytes).toBeGreaterThan(200);
    const first = await b.handler.table(0);
    expect(first).toMatchObject({ link: ba, level: 0 });
    expect(first.table.equals(own)).toBe(true);
    expect(first.table.mayMatch(['ubu'], '')).toBe(true);

    // Shares changed: the new table (a table once sent is never changed) goes as a patch and arrives whole.
    const changed = tableOf(13, 'ubuntu', 'iso', ...Array.from({ length: 300 }, (_, i) => `word${i}`), 'debian');
    const before = a.links.counters.routeTables.bytesSent;
    expect(a.links.sendRouteTable(ab, 0, changed)).toBe(true);
    expect(a.links.counters.routeTables.bytesSent - before).toBeLessThan(64);
    const second = await b.handler.table(1);
    expect(second.level).toBe(0);
    expect(second.table.equals(changed)).toBe(true);
    expect(second.table.mayMatch(['debian', 'iso'], '')).toBe(true);

    // Unchanged, the same table or an equal one: nothing crosses (the next table handed over is level 1's, sent after it).
    expect(a.links.sendRouteTable(ab, 0, changed)).toBe(true);
    expect(
      a.links.sendRouteTable(
        ab,
        0,
        tableOf(13, 'ubuntu', 'iso', ...Array.from({ length: 300 }, (_, i) => `word${i}`), 'debian'),
      ),
    ).toBe(true);
    const wider = tableOf(15, 'debian', 'ubuntu', 'iso', 'arch');
    expect(a.links.sendRouteTable(ab, 1, wider)).toBe(true);
    const third = await b.handler.table(2);
    expect(third.level).toBe(1);
    expect(third.table.equals(wider)).toBe(true);

    // Both ways on one link, and a level whose size changed goes whole.
    expect(b.links.sendRouteTable(ba, 0, tableOf(14, 'music'))).toBe(true);
    expect((await a.handler.table(0)).table.equals(tableOf(14, 'music'))).toBe(true);
    expect(a.links.sendRouteTable(ab, 0, tableOf(14, 'ubuntu'))).toBe(true);
    expect((await b.handler.table(3)).table.equals(tableOf(14, 'ubuntu'))).toBe(true);
    // Four tables crossed from a (the unchanged one did not), one from b; a patch is a few bytes.
    expect(a.links.counters.routeTables).toMatchObject({ sent: 4, received: 1, refused: 0 });
    expect(b.links.counters.routeTables).toMatchObject({ sent: 1, received: 4, refused: 0 });
    expect(b.links.counters.routeTables.bytesReceived).toBe(a.links.counters.routeTables.bytesSent);
  });

  it('never sends one over a link to a peer that does not list "qrp"', async () => {
    const a = await node();
    const old = await rawNeighbour(a.searchAddress, nextLoopback(), { expectedPeerId: a.peerId });
    await old.send(old.hello({ features: ['push', 'folders'] }));
    await a.handler.linkUp(1);
    const link = linkTo(a, old.peerId);
    expect(a.links.sendRouteTable(link, 0, tableOf(13, 'ubuntu'))).toBe(false);
    // A query sent after it arrives with nothing before it but the Hello.
    const query = create(QuerySchema, {
      id: { nonce: randomBytes(16), originPeerId: a.peerId, originAddress: a.searchAddress },
      terms: ['ubuntu'],
      ttl: 2,
    });
    expect(a.links.sendQuery(link, query)).toBe(true);
    await expect.poll(() => old.received.map((m) => m.case)).toEqual(['hello', 'query']);
  });

  it('decodes one a neighbour sends, and closes the link, saying why, on one that does not decode', async () => {
    const a = await node();
    const honest = await rawNeighbour(a.searchAddress, nextLoopback(), { expectedPeerId: a.peerId });
    await honest.send(honest.hello({ features: ['qrp'] }));
    const theirs = tableOf(13, 'flac');
    await honest.send({ case: 'routeTable', value: { level: 2, ...encodeRouteTable(theirs) } });
    const received = await a.handler.table(0);
    expect(received).toMatchObject({ link: linkTo(a, honest.peerId), level: 2 });
    expect(received.table.equals(theirs)).toBe(true);

    // Data that inflates to less than the table, and a patch with no table of its level before it.
    const shortData = { level: 0, ...encodeRouteTable(theirs), bits: 2 ** 14 };
    const orphanPatch = { level: 1, ...encodeRouteTable(theirs, theirs) };
    for (const bad of [shortData, orphanPatch]) {
      const liar = await rawNeighbour(a.searchAddress, nextLoopback(), { expectedPeerId: a.peerId });
      await liar.send(liar.hello({ features: ['qrp'] }));
      await liar.send({ case: 'routeTable', value: bad });
      await liar.closed;
      expect(liar.received.at(-1)).toMatchObject({
        case: 'close',
        value: { code: wireCode('BAD_REQUEST'), reason: expect.stringMatching(`^route table of level ${bad.level}: `) },
      });
    }
    // Both links came up and went; nothing of theirs was handed over; the honest link stays.
    await expect.poll(() => a.handler.closed.length).toBe(2);
    expect(a.handler.tables).toHaveLength(1);
    expect(a.links.list().map((l) => l.peerId)).toEqual([honest.peerId]);
    expect(a.links.counters.routeTables).toMatchObject({ received: 3, refused: 2 });
  });
});
