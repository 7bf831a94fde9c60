import { describe, expect, it } from 'vitest';
import { memorySigner } from '../../shared/keys.ts';
import { isSafeFileName } from '../../shared/names.ts';
import type { ClientPorts, DownloadRequest, FileSource, PeerInfo, SearchHit, SearchQuery } from '../ports.ts';
import { ClientApp } from './client-app.ts';
import { MAX_DOWNLOAD_SOURCES } from './pick.ts';

const SELF = memorySigner().peerId;
const FILE = 'f'.repeat(64);

const peer = (n: number, state = 'alive'): PeerInfo => ({
  peerId: memorySigner().peerId,
  state,
  lastSeen: 1_000 + n,
  addresses: { files: `127.0.${n >> 8}.${n & 255}:7871`, search: '', fetch: '' },
  files: 1,
});
const hitOf = (p: { peerId: string }, fileId = FILE, name = 'song.ogg'): SearchHit => ({
  fileId,
  name,
  size: 5,
  holderPeerId: p.peerId,
  filesAddress: 'http://127.9.9.9:7871',
  hops: 1,
});

/**
 * A ClientApp over in-memory ports: Fetch lists `members` and advertises 192.0.2.7, a search finds
 * `hits` (or what `hits` gives for its query), searches and download requests are kept.
 */
function app(
  members: PeerInfo[],
  hits: SearchHit[] | ((query: SearchQuery) => SearchHit[]),
  sources: FileSource[] | ((fileId: string) => FileSource[]) = [],
) {
  const requests: DownloadRequest[] = [];
  const searches: SearchQuery[] = [];
  /** Where a folder's collection was asked, each `peerId@filesAddress`. */
  const asked: string[] = [];
  const ports = {
    fetch: {
      peers: async () => members,
      sourcesFor: async (fileId: string) => (typeof sources === 'function' ? sources(fileId) : sources),
      reachability: async () => ({ state: 'configured', advertisedFiles: '192.0.2.7:7871' }),
    },
    search: {
      search: async (query: SearchQuery) => {
        searches.push(query);
        const found = typeof hits === 'function' ? hits(query) : hits;
        return {
          onHit: (l: (h: SearchHit) => void) => found.forEach(l),
          done: Promise.resolve({
            queryKey: 'k',
            peersAnswered: 1,
            hits: found.length,
            duplicatesDropped: 0,
            elapsedMs: 1,
            ended: 'deadline',
          }),
          cancel: () => {},
        };
      },
    },
    overlay: {
      collectionFrom: async (peerId: string, filesAddress: string, id: string) => {
        asked.push(`${peerId}@${filesAddress}`);
        return {
          entries: [
            { path: 'a.txt', size: 2, fileId: 'a'.repeat(64) },
            { path: 'sub/b.txt', size: 3, fileId: 'b'.repeat(64) },
          ],
          size: id.length > 0 ? 5 : 0,
        };
      },
    },
    download: {
      folder: async () => '/downloads',
      request: async (req: DownloadRequest) => {
        requests.push(req);
        return { key: 'k', fileId: req.fileId, name: req.name, state: 'queued', bytesDone: 0, rate: 0, sources: [] };
      },
    },
  } as unknown as ClientPorts;
  return {
    client: new ClientApp(ports, { peerId: SELF, addresses: {}, startedAt: 0 }, isSafeFileName),
    requests,
    asked,
    searches,
  };
}

describe('ClientApp get by name and by id', () => {
  it(`asks a download of at most ${MAX_DOWNLOAD_SOURCES} sources, the best of more verified holders, and counts them all`, async () => {
    const members = Array.from({ length: 80 }, (_, i) => peer(i + 1, i % 4 === 0 ? 'suspected' : 'alive'));
    const { client, requests } = app(
      members,
      members.map((m) => hitOf(m)),
    );
    const queued = await client.queueByName('song');
    expect(queued.holders).toBe(80);
    expect(requests[0]!.sources).toHaveLength(MAX_DOWNLOAD_SOURCES);
    // The 60 alive ones first (most recently heard first), then the 4 suspected heard last.
    const alive = members.filter((m) => m.state === 'alive').reverse();
    const suspected = members.filter((m) => m.state === 'suspected').reverse();
    expect(requests[0]!.sources).toEqual(
      [...alive, ...suspected.slice(0, 4)].map((m) => `${m.peerId}@${m.addresses.files}`),
    );
  });

  it("by id too: of more alive holders in Fetch's availability map, the best 64", async () => {
    const members = Array.from({ length: 70 }, (_, i) => peer(i + 1));
    const sources = members.map((m): FileSource => ({
      peerId: m.peerId,
      filesAddress: m.addresses.files,
      name: 'song.ogg',
      size: 5,
      state: 'alive',
    }));
    const { client, requests } = app(members, [], sources);
    expect(await client.queueById(FILE)).toMatchObject({ holders: 70 });
    expect(requests[0]!.sources).toEqual(
      [...members]
        .reverse()
        .slice(0, 64)
        .map((m) => `${m.peerId}@${m.addresses.files}`),
    );
  });

  it('refuses, saying why, when the hits name only holders it has not verified or itself', async () => {
    const { client, requests } = app([peer(1)], [hitOf({ peerId: memorySigner().peerId }), hitOf({ peerId: SELF })]);
    await expect(client.queueByName('song')).rejects.toMatchObject({
      code: 'FILE_NOT_FOUND',
      message: expect.stringMatching(
        /^no verified peer holds a file matching "song" \(2 hits named only holders this peer has not verified/,
      ),
    });
    await expect(app([peer(1)], []).client.queueByName('song')).rejects.toMatchObject({
      code: 'FILE_NOT_FOUND',
      message: 'no file on the network matches "song"',
    });
    expect(requests).toEqual([]);
  });

  it('by name, counts only the hit holders Fetch lists for each candidate file: forged claims that honest peers hold a file do not win', async () => {
    const [hostile, b, c] = [peer(1), peer(2), peer(3)];
    const EVIL = 'e'.repeat(64);
    const hits = [hitOf(hostile, EVIL), hitOf(b, EVIL), hitOf(c, EVIL), hitOf(b), hitOf(c)];
    const asked: string[] = [];
    const availability = (fileId: string): FileSource[] => {
      asked.push(fileId);
      return (fileId === EVIL ? [hostile] : [b, c]).map((m) => ({
        peerId: m.peerId,
        filesAddress: m.addresses.files,
        name: 'song.ogg',
        size: 5,
        state: 'alive',
      }));
    };
    const { client, requests } = app([hostile, b, c], hits, availability);
    expect(await client.queueByName('song')).toMatchObject({
      holders: 2,
      basis: 'availability',
      download: { fileId: FILE },
    });
    expect(asked.sort()).toEqual([EVIL, FILE].sort());
    expect(requests[0]!.sources!.sort()).toEqual([b, c].map((m) => `${m.peerId}@${m.addresses.files}`).sort());
  });

  it('by name, searches wanting the set number of answers (the getWant setting unless asked otherwise); a clear vote picks from what arrived', async () => {
    const [b, c] = [peer(1), peer(2)];
    const { client, searches } = app([b, c], [hitOf(b), hitOf(c)]);
    expect(await client.queueByName('song', { timeoutMs: 1500 })).toMatchObject({ vote: { want: 5, widened: false } });
    expect(await client.queueByName('song', { timeoutMs: 1500, want: 2 })).toMatchObject({
      holders: 2,
      vote: { want: 2, answered: 2, first: { holders: 2, runnerUp: 0 }, close: false, widened: false, runnerUp: 0 },
    });
    expect(searches).toEqual([
      { q: 'song', timeoutMs: 1500, want: 5 },
      { q: 'song', timeoutMs: 1500, want: 2 },
    ]);
  });

  it('by name, a close vote once the wanted peers answered asks for the wider search (no want), and picks over both searches', async () => {
    const [b, c, d, e] = [peer(1), peer(2), peer(3), peer(4)];
    const OTHER = 'e'.repeat(64);
    // The near search: b holds FILE, c OTHER (1 against 1); the wider one finds d and e with FILE too.
    const { client, searches, requests } = app([b, c, d, e], (query) =>
      query.want !== undefined ? [hitOf(b), hitOf(c, OTHER)] : [hitOf(b), hitOf(c, OTHER), hitOf(d), hitOf(e)],
    );
    expect(await client.queueByName('song', { want: 2 })).toMatchObject({
      holders: 3,
      download: { fileId: FILE },
      vote: { want: 2, answered: 2, first: { holders: 1, runnerUp: 1 }, close: true, widened: true, runnerUp: 1 },
    });
    expect(searches).toEqual([{ q: 'song', want: 2 }, { q: 'song' }]);
    expect(requests[0]!.sources!.sort()).toEqual([b, d, e].map((m) => `${m.peerId}@${m.addresses.files}`).sort());
  });

  it('by name, nothing to pick once the wanted peers answered (forged holders) asks the wider search; its repeats count once', async () => {
    const forged = [hitOf({ peerId: memorySigner().peerId }), hitOf({ peerId: memorySigner().peerId })];
    const { client, searches, requests } = app([peer(1)], forged);
    await expect(client.queueByName('song', { want: 2 })).rejects.toMatchObject({
      code: 'FILE_NOT_FOUND',
      message: expect.stringMatching(/\(2 hits named only holders this peer has not verified/),
    });
    expect(searches).toEqual([{ q: 'song', want: 2 }, { q: 'song' }]);
    expect(requests).toEqual([]);
  });

  it('by name, a close vote with fewer answers than wanted is not searched again (the search reached its full TTL); want 0 is one plain search', async () => {
    const b = peer(1);
    const { client, searches } = app([b], [hitOf(b)]);
    expect(await client.queueByName('song', { want: 2 })).toMatchObject({
      vote: { answered: 1, close: true, widened: false },
    });
    expect(await client.queueByName('song', { want: 0 })).toMatchObject({ vote: { want: 0, widened: false } });
    expect(searches).toEqual([{ q: 'song', want: 2 }, { q: 'song' }]);
  });

  it('by id, a search that finds a shared folder queues its tree, asking only verified, dialable holders at their record addresses', async () => {
    const FOLDER = 'c'.repeat(64);
    const [honest, firewalled] = [peer(1), peer(2, 'firewalled')];
    const folderHit = (p: { peerId: string }): SearchHit => ({
      ...hitOf(p, FOLDER, 'photos'),
      size: 5,
      folder: { files: 2 },
    });
    const { client, requests, asked } = app(
      [honest, firewalled],
      [folderHit({ peerId: memorySigner().peerId }), folderHit(firewalled), folderHit(honest)],
    );
    const queued = await client.queueById(FOLDER);
    expect(queued).toMatchObject({
      folder: { id: FOLDER, name: 'photos', files: 2, size: 5, root: '/downloads/photos' },
    });
    // The hit's own address (127.9.9.9) is never dialled: the member's record says where it is.
    expect(asked).toEqual([`${honest.peerId}@${honest.addresses.files}`]);
    expect(requests.map((r) => [r.name, r.outDir, r.sources])).toEqual([
      ['a.txt', '/downloads/photos', asked],
      ['b.txt', '/downloads/photos/sub', asked],
    ]);
    // A folder is never what get --name picks: it is no file.
    await expect(app([honest], [folderHit(honest)]).client.queueByName('photos')).rejects.toMatchObject({
      code: 'FILE_NOT_FOUND',
      message: expect.stringMatching(/what matches are shared folders/),
    });
    await expect(app([firewalled], [folderHit(firewalled)]).client.queueById(FOLDER)).rejects.toMatchObject({
      code: 'FILE_NOT_FOUND',
      message: expect.stringMatching(/not verified or cannot dial/),
    });
  });
});

describe('ClientApp links', () => {
  const source = (m: PeerInfo, state = 'alive'): FileSource => ({
    peerId: m.peerId,
    filesAddress: m.addresses.files,
    name: 'fetch name.ogg',
    size: 5,
    state,
  });

  it('gets a link from its hints first, then the alive holders Fetch knows, never this peer itself; the size goes with the request', async () => {
    const [hinted, known, down] = [peer(1), peer(2), peer(3)];
    const { client, requests } = app([], [], [source(known), source(down, 'down'), source(hinted)]);
    const link = `peershare:?id=${FILE}&name=song.ogg&size=5&hint=${SELF}@127.0.0.1:7871&hint=${hinted.peerId}@${hinted.addresses.files}`;
    expect(await client.queueByLink(link)).toMatchObject({ basis: 'link', holders: 2, linkHints: 1, size: 5 });
    expect(requests).toEqual([
      {
        fileId: FILE,
        name: 'song.ogg',
        size: 5,
        sources: [`${hinted.peerId}@${hinted.addresses.files}`, `${known.peerId}@${known.addresses.files}`],
      },
    ]);
  });

  it('refuses a malformed link, and one that names no other peer when Fetch knows none, before asking for a download', async () => {
    const { client, requests } = app([], []);
    await expect(client.queueByLink(`peershare:?id=${FILE}&name=a%E2%80%AEb.exe`)).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringMatching(/^not a usable peershare: link: name: .*U\+202E/),
    });
    await expect(client.queueByLink(`peershare:?id=${FILE}&hint=${SELF}@127.0.0.1:7871`)).rejects.toMatchObject({
      code: 'FILE_NOT_FOUND',
      message: expect.stringMatching(/names no peer other than this one/),
    });
    expect(requests).toEqual([]);
  });

  it("makes each file's link: this peer at its advertised files address, then up to two other alive holders", async () => {
    const others = [peer(1), peer(2), peer(3)];
    const { client } = app(
      [],
      [],
      [source(others[0]!, 'down'), ...others.map((m) => source(m)), { ...source(others[0]!), peerId: SELF }],
    );
    const [linked] = await client.withLinks([{ id: FILE, name: 'song.ogg', size: 5, extra: true }]);
    expect(linked).toEqual({
      id: FILE,
      name: 'song.ogg',
      size: 5,
      extra: true,
      link: `peershare:?id=${FILE}&name=song.ogg&size=5&hint=${SELF}@192.0.2.7:7871&hint=${others[0]!.peerId}@${others[0]!.addresses.files}&hint=${others[1]!.peerId}@${others[1]!.addresses.files}`,
    });
  });
});

describe('ClientApp status', () => {
  /** A ClientApp whose services answer, except the calls named in `failing` (each `service.method`). */
  function statusOf(failing: string[]) {
    const answer =
      <T>(name: string, value: T) =>
      async () => {
        if (failing.includes(name)) throw new Error(`${name} does not answer`);
        return value;
      };
    const ports = {
      files: { list: answer('files.list', { items: [], total: 3 }) },
      fetch: {
        peers: answer('fetch.peers', [peer(1)]),
        defences: answer('fetch.defences', null),
        reachability: answer('fetch.reachability', null),
        joinState: answer('fetch.joinState', null),
      },
      search: { links: answer('search.links', []), defences: answer('search.defences', null) },
      download: { queueBackend: answer('download.queueBackend', 'embedded'), list: answer('download.list', []) },
    } as unknown as ClientPorts;
    return new ClientApp(ports, { peerId: SELF, addresses: {}, startedAt: 0 }, isSafeFileName).status();
  }

  it('names each service that did not answer once, in order, and Download when either of its calls fails', async () => {
    expect((await statusOf([])).unavailable).toEqual([]);
    expect((await statusOf(['download.list'])).unavailable).toEqual(['download']);
    expect((await statusOf(['download.queueBackend'])).unavailable).toEqual(['download']);
    expect(
      (await statusOf(['download.queueBackend', 'download.list', 'search.links', 'files.list'])).unavailable,
    ).toEqual(['files', 'search', 'download']);
  });

  it('does not count a service unavailable when only its defences, reachability or join state fail', async () => {
    const status = await statusOf(['fetch.defences', 'search.defences', 'fetch.reachability', 'fetch.joinState']);
    expect(status.unavailable).toEqual([]);
    expect(status).toMatchObject({ defences: { membership: null, links: null }, reachability: null, join: null });
    expect(status.counts).toMatchObject({ sharedFiles: 3, knownPeers: 1, alivePeers: 1 });
  });
});
