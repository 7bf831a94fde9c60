/**
 * An attacker against Fetch, with real keys and real TLS: fresh identities by the hundred (an
 * Ed25519 key each, its own certificate, records signed with signRecord) that announce themselves
 * to a peer's POST /sync exactly as a peer would; and a hostile Fetch endpoint of its own (a real
 * peer port with the real routes) whose answers carry whatever records it likes, so that honest
 * peers that dial it receive them as gossip. Everything it opens is closed when the test ends.
 */
import { createServer, type Server } from 'node:net';
import { PROTOCOL_VERSION } from '../../src/fetch/domain/config.ts';
import { signRecord, type PeerRecord } from '../../src/fetch/domain/peer-record.ts';
import { registerFetchRoutes, type FetchApi } from '../../src/fetch/adapters/http/fetch-routes.ts';
import { adminGuard } from '../../src/shared/admin-guard.ts';
import { createHttpApp } from '../../src/shared/http-server.ts';
import { memorySigner, type KeyHolder } from '../../src/shared/keys.ts';
import { silentLogger } from '../../src/shared/logging.ts';
import { servePeerHttp } from '../../src/shared/peer-port.ts';
import { PeerTls } from '../../src/shared/peer-tls.ts';
import { DEFAULT_PORTS } from '../../src/shared/config.ts';
import { perTest, type Defer } from './teardown.ts';
import { tlsPeerClient, type Answer, type TlsPeerClient } from './tls-peer-client.ts';

/** Service addresses all on `host` with the default ports, or every one of them `fetch` when given. */
export function addressesAt(host: string, fetch?: string) {
  return fetch
    ? { files: fetch, search: fetch, fetch }
    : {
        files: `${host}:${DEFAULT_PORTS.filesPort}`,
        search: `${host}:${DEFAULT_PORTS.searchPort}`,
        fetch: `${host}:${DEFAULT_PORTS.fetchPort}`,
      };
}

/** A validly signed, current record of `signer` naming `addresses` (then `otherAddresses`, if given). */
export function recordOf(
  signer: KeyHolder,
  addresses: PeerRecord['addresses'],
  now: number,
  otherAddresses?: PeerRecord['addresses'][],
): PeerRecord {
  return signRecord(signer, {
    status: 'alive',
    addresses,
    ...(otherAddresses ? { otherAddresses } : {}),
    protocol: PROTOCOL_VERSION,
    seq: now,
    issuedAt: now,
  });
}

/** A fresh identity that can announce its own record over TLS with its own certificate. */
export interface Sybil {
  client: TlsPeerClient;
  record: PeerRecord;
  /** POST /sync to the Fetch API at `address` with this identity's record as the announce. */
  announce(address: string): Promise<Answer>;
}

export async function sybils(
  count: number,
  addresses: PeerRecord['addresses'],
  now: number,
  otherAddresses?: PeerRecord['addresses'][],
): Promise<Sybil[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const client = await tlsPeerClient(memorySigner());
      const record = recordOf(client.signer, addresses, now, otherAddresses);
      return { client, record, announce: (address: string) => client.post(address, '/sync', { from: record }) };
    }),
  );
}

/** Run `task` over `items`, at most `limit` at once. */
export async function inBatches<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += limit)
    results.push(...(await Promise.all(items.slice(i, i + limit).map(task))));
  return results;
}

export interface HostileFetch {
  readonly signer: KeyHolder;
  readonly address: string;
  readonly record: PeerRecord;
  /** Records its answers carry besides its own (replays, forgeries of its choosing). */
  gossip: PeerRecord[];
  /** Requests its /sync answered. */
  readonly answered: number;
  /** Announce itself (its own record, over TLS with its own key) to the Fetch API at `address`. */
  announce(address: string): Promise<Answer>;
  /** POST anything to another peer's route over its own TLS identity. */
  post(address: string, path: string, body: unknown): Promise<Answer>;
}

/** A hostile Fetch endpoint on `host` (default port): the real routes over a real peer port, answers of its choosing. */
export async function startHostileFetch(host: string, now: number, defer: Defer = perTest): Promise<HostileFetch> {
  const signer = memorySigner();
  const tls = new PeerTls(signer);
  await tls.ready();
  const address = `${host}:${DEFAULT_PORTS.fetchPort}`;
  const record = recordOf(signer, addressesAt(host), now);
  const client = await tlsPeerClient(signer);
  const app = await createHttpApp({ service: 'fetch', logger: silentLogger() });
  let answered = 0;
  const state: HostileFetch = {
    signer,
    address,
    record,
    gossip: [],
    get answered() {
      return answered;
    },
    announce: (to) => client.post(to, '/sync', { from: record }),
    post: (to, path, body) => client.post(to, path, body),
  };
  const refuse = () => {
    throw new Error('not offered by this endpoint');
  };
  const api: FetchApi = {
    async answer() {
      answered++;
      return {
        from: signer.peerId,
        view: { cursor: `hostile:${answered}`, records: [record, ...state.gossip], suspects: [] },
      };
    },
    leave: () => undefined,
    self: () => ({ peerId: signer.peerId, addresses: record.addresses, advertised: [record.addresses] }),
    peers: () => [],
    events: () => [],
    sources: () => [],
    firewalled: () => [],
    firewalledSources: () => [],
    joinPins: () => [],
    forgetJoinPins: refuse,
    dialBack: refuse,
  };
  registerFetchRoutes(app, api, adminGuard(host, undefined));
  const port = await servePeerHttp(app, host, DEFAULT_PORTS.fetchPort, tls, silentLogger());
  defer(async () => {
    await port.close();
    await app.close();
  });
  return state;
}

/** A bystander: a plain TCP listener (no peer) that counts the connections it accepts and drops them. */
export interface Bystander {
  readonly address: string;
  readonly connections: number;
}

export async function startBystander(host: string, port: number, defer: Defer = perTest): Promise<Bystander> {
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  defer(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return {
    address: `${host}:${port}`,
    get connections() {
      return connections;
    },
  };
}
