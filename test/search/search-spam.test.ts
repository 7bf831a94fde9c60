/**
 * Search spam (issue 13, part 6). A peer's own users searching as fast as they can must not get
 * it cut off by its neighbours: it holds its own searches below what a neighbour accepts and
 * answers the excess 429 with Retry-After (through the Search API and the Client API alike). And
 * a neighbour that floods keeps its spent rate state when it reconnects, with the same identity
 * or a fresh one from the same address.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { DEFAULT_PORTS } from '../../src/shared/config.ts';
import { memorySigner } from '../../src/shared/keys.ts';
import { nextLoopback } from '../support/loopback.ts';
import { spawnPeer } from '../support/peer-process.ts';
import { runCommand } from '../support/run-command.ts';
import { rawNeighbour, type RawNeighbour } from '../support/raw-neighbour.ts';
import { tempDir } from '../support/temp.ts';
import { createTestnet } from '../support/testnet.ts';

interface Health {
  counters: {
    searchesStarted: number;
    searchesRateLimited: number;
    queriesReceived: number;
    queriesAccepted: number;
    queriesRateLimited: number;
    linksDisconnected: number;
  };
}
interface Links {
  links: Array<{ id: string; peerId: string; since: number }>;
}

const getJson = async <T>(url: string): Promise<T> => (await (await fetch(url)).json()) as T;

/** One search through an API; what it answered. */
async function searchOnce(
  url: string,
  init?: RequestInit,
): Promise<{ status: number; retryAfter: string | null; body: { error?: { code: string; message: string } } }> {
  const res = await fetch(url, init);
  return {
    status: res.status,
    retryAfter: res.headers.get('retry-after'),
    body: (await res.json()) as { error?: { code: string; message: string } },
  };
}

describe('search spam', () => {
  it(
    'answers 429 with Retry-After past its own search limit, so its neighbour never cuts it off',
    { timeout: 120_000 },
    async () => {
      const [hostA, hostB] = [nextLoopback(), nextLoopback()];
      const start = (host: string, data: string, ...more: string[]) =>
        spawnPeer(['start', '--host', host, '--data', data, '--fetch-interval', '100', ...more]);
      await start(hostB, join(tempDir(), 'b'));
      // A's own limit is set low (5 a second, bursts of 10; B accepts its default 50) so that every
      // batch of 50 below goes over it however long the batches take on a busy machine: with the
      // default 25 (bursts of 50), a batch that came 2 s after the one before found the bucket full.
      await start(hostA, join(tempDir(), 'a'), '--join', hostB, '--search-rate', '5');
      const searchApi = (host: string) => `http://${host}:${DEFAULT_PORTS.searchApiPort}`;
      await expect
        .poll(async () => (await getJson<Links>(`${searchApi(hostA)}/links`)).links.length, {
          timeout: 30_000,
          interval: 100,
        })
        .toBe(1);
      const [link] = (await getJson<Links>(`${searchApi(hostA)}/links`)).links;

      // 600 searches as fast as the APIs take them: 550 through Search's own API, 50 through the
      // Client API (what `peershare search` calls), 50 at a time.
      const answers: Array<Awaited<ReturnType<typeof searchOnce>> & { via: 'search' | 'client' }> = [];
      for (let batch = 0; batch < 12; batch++) {
        const viaClient = batch === 11;
        answers.push(
          ...(await Promise.all(
            Array.from({ length: 50 }, async () =>
              viaClient
                ? {
                    via: 'client' as const,
                    ...(await searchOnce(`http://${hostA}:${DEFAULT_PORTS.clientPort}/search?q=spam&wait=1&timeout=1`)),
                  }
                : {
                    via: 'search' as const,
                    ...(await searchOnce(`${searchApi(hostA)}/searches`, {
                      method: 'POST',
                      headers: { 'content-type': 'application/json' },
                      body: JSON.stringify({ q: 'spam', timeout: 1 }),
                    })),
                  },
            ),
          )),
        );
      }
      const limited = answers.filter((a) => a.status === 429);
      expect(answers.every((a) => a.status === 200 || a.status === 429)).toBe(true);
      expect(limited.length).toBeGreaterThan(0);
      expect(answers.some((a) => a.status === 200)).toBe(true);
      for (const a of limited) {
        expect(Number(a.retryAfter)).toBeGreaterThanOrEqual(1);
        expect(a.body.error).toMatchObject({
          code: 'RATE_LIMITED',
          message: expect.stringMatching(/at most 5 searches per second.*try again in \d+ s/),
        });
      }
      // The Client passes the refusal on, as it is: `peershare search` prints its message.
      expect(limited.some((a) => a.via === 'client')).toBe(true);

      const a = await getJson<Health>(`${searchApi(hostA)}/health`);
      expect(a.counters.searchesRateLimited).toBe(limited.length);
      expect(a.counters.searchesStarted).toBe(answers.length - limited.length);
      // Every query A sent reached B and was accepted there: none rate-limited, the link never cut.
      await expect
        .poll(async () => (await getJson<Health>(`${searchApi(hostB)}/health`)).counters.queriesReceived, {
          timeout: 10_000,
          interval: 100,
        })
        .toBe(a.counters.searchesStarted);
      const b = await getJson<Health>(`${searchApi(hostB)}/health`);
      expect(b.counters).toMatchObject({
        queriesRateLimited: 0,
        linksDisconnected: 0,
        queriesAccepted: a.counters.searchesStarted,
      });
      expect((await getJson<Links>(`${searchApi(hostA)}/links`)).links).toEqual([link]);

      // The operator sees it in `peershare status`: every refusal counted, nothing cut at B.
      const status = await runCommand(['status', '--json', '--api', `${hostA}:${DEFAULT_PORTS.clientPort}`]);
      expect(status.code).toBe(0);
      expect((JSON.parse(status.stdout) as { defences: { links: unknown } }).defences.links).toMatchObject({
        ownSearchesRateLimited: limited.length,
        neighboursCut: 0,
      });
      const text = await runCommand(['status', '--api', `${hostA}:${DEFAULT_PORTS.clientPort}`]);
      expect(text.stdout).toContain(`${limited.length} own searches rate-limited`);
    },
  );

  it(
    'makes `peershare search` say that the peer is searching too fast, and when to try again',
    { timeout: 60_000 },
    async () => {
      // The Client API's answer as the test above sees it pass on Search's refusal.
      const refusal = {
        error: {
          code: 'RATE_LIMITED',
          message:
            'this peer starts at most 25 searches per second (a burst of 50), fewer than its neighbours accept from it; try again in 1 s',
          details: { retryAfterSeconds: 1 },
        },
      };
      const api = createServer((_req, res) =>
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' }).end(JSON.stringify(refusal)),
      );
      const host = nextLoopback();
      api.listen(0, host);
      await once(api, 'listening');
      onTestFinished(() => new Promise<void>((resolve) => api.close(() => resolve())));
      const { port } = api.address() as { port: number };
      const result = await runCommand(['search', 'anything', '--api', `${host}:${port}`]);
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(`peershare: ${refusal.error.message}\n`);
    },
  );

  it(
    "keeps a flooding neighbour's spent rate state when it reconnects, with its identity or a fresh one from its address",
    { timeout: 60_000 },
    async () => {
      // Nothing refills, so every count is exact: 20 admitted, 20 dropped, then the link is cut.
      const rateLimits = { queriesPerSecond: 0, queryBurst: 20, strikeBurst: 20, strikesForgivenPerSecond: 0 };
      const net = await createTestnet(1, 'line', { rateLimits });
      const peer = net.peers[0]!;
      const counters = peer.service.engine.counters;
      const query = (from: RawNeighbour) => ({
        case: 'query' as const,
        value: {
          id: { nonce: randomBytes(16), originPeerId: from.peerId, originAddress: `${from.host}:7872` },
          terms: ['x'],
          ttl: 1,
          hops: 0,
        },
      });
      const flood = async (from: RawNeighbour) => {
        for (let i = 0; i < 100 && !from.socket.destroyed; i++) await from.send(query(from));
        await from.closed;
      };

      const address = nextLoopback();
      const identity = memorySigner();
      const first = await rawNeighbour(peer.service.searchAddress, address, { identity });
      await first.handshake();
      await flood(first);
      expect(counters).toMatchObject({ queriesAccepted: 20, queriesRateLimited: 21, linksDisconnected: 1 });

      // The same identity again (from another address too): its first query is one too many.
      for (const from of [address, nextLoopback()]) {
        const again = await rawNeighbour(peer.service.searchAddress, from, { identity });
        await again.handshake();
        await flood(again);
      }
      // A fresh identity from the flooder's address inherits what the address has spent.
      const fresh = await rawNeighbour(peer.service.searchAddress, address);
      await fresh.handshake();
      await flood(fresh);
      expect(counters).toMatchObject({ queriesAccepted: 20, queriesRateLimited: 24, linksDisconnected: 4 });

      // An honest neighbour from elsewhere has its own state.
      const honest = await rawNeighbour(peer.service.searchAddress);
      await honest.handshake();
      for (let i = 0; i < 5; i++) await honest.send(query(honest));
      await expect.poll(() => counters.queriesAccepted).toBe(25);
    },
  );
});
