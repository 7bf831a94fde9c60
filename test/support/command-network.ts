/**
 * Three peers on their own 127.x addresses, joined through one another (B through A, C through
 * B), for the command tests, in either run mode: each peer one process (`peershare start`'s
 * wiring), or each peer five processes (`peershare service NAME`) with RabbitMQ. Resolves once
 * every peer knows the other two alive and its Search is linked to both, so a search reaches them.
 */
import { DEFAULT_PORTS } from '../../src/shared/config.ts';
import { deleteQueues, RABBIT_URL } from '../download/rabbit.ts';
import { startFullPeer } from './full-peer.ts';
import { startSplitPeer, type SplitPeer } from './split-peer.ts';
import type { Defer } from './teardown.ts';

export interface NetworkPeer {
  host: string;
  dataDir: string;
  peerId: string;
}

export interface CommandNetwork {
  /** The download queue every peer uses. */
  queue: 'embedded' | 'rabbitmq';
  /** A, B and C. */
  peers: [NetworkPeer, NetworkPeer, NetworkPeer];
}

export interface PeerOptions {
  /** Cap on the peer's download rate (e.g. '64KiB'), so that a download stays running a while. */
  maxDownloadRate?: string;
}

const alive = async (host: string) =>
  ((await (await fetch(`http://${host}:${DEFAULT_PORTS.fetchPort}/peers?state=alive`)).json()) as { total: number })
    .total;
const links = async (host: string) =>
  ((await (await fetch(`http://${host}:${DEFAULT_PORTS.searchApiPort}/links`)).json()) as { links: unknown[] }).links
    .length;

const CONVERGE_TIMEOUT_MS = 60_000;

/**
 * Fetch rounds and overlay dials run on timers in other processes, so this asks until it holds
 * (expect.poll cannot run in beforeAll).
 */
async function converged(peers: NetworkPeer[]): Promise<void> {
  const deadline = Date.now() + CONVERGE_TIMEOUT_MS;
  const others = peers.length - 1;
  let seen = '';
  for (;;) {
    const states = await Promise.all(peers.map(async (p) => [await alive(p.host), await links(p.host)]));
    seen = states.map(([a, l]) => `${a} alive/${l} links`).join(', ');
    if (states.every(([a, l]) => a === others && l === others)) return;
    if (Date.now() > deadline) throw new Error(`the network did not converge in ${CONVERGE_TIMEOUT_MS} ms: ${seen}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Every peer one process, with the embedded queue. */
export async function startOneProcessNetwork(defer: Defer, options: PeerOptions[] = []): Promise<CommandNetwork> {
  const peers: NetworkPeer[] = [];
  for (let i = 0; i < 3; i++) {
    const rate = options[i]?.maxDownloadRate;
    const peer = await startFullPeer(
      { ...(i > 0 ? { join: peers[i - 1]!.host } : {}), ...(rate ? { maxDownloadRate: rate } : {}) },
      defer,
    );
    peers.push({ host: peer.host, dataDir: peer.dataDir, peerId: peer.context.identity.peerId });
  }
  await converged(peers);
  return { queue: 'embedded', peers: peers as CommandNetwork['peers'] };
}

/** Every peer five processes, one per service, with RabbitMQ; each peer's queues deleted at the end. */
export async function startSplitNetwork(
  defer: Defer,
  options: PeerOptions[] = [],
): Promise<CommandNetwork & { split: SplitPeer[]; prefixes: string[] }> {
  const peers: NetworkPeer[] = [];
  const split: SplitPeer[] = [];
  const prefixes: string[] = [];
  for (let i = 0; i < 3; i++) {
    // eslint-disable-next-line prefer-const -- read by the clean-up registered before it is set, which may run first (a const would throw there)
    let prefix: string | undefined;
    // Registered before the processes, so it runs after they are gone.
    defer(() => prefix && deleteQueues(prefix));
    const rate = options[i]?.maxDownloadRate;
    const peer = await startSplitPeer(
      {
        flags: ['--amqp', RABBIT_URL],
        ...(i > 0 ? { join: [peers[i - 1]!.host] } : {}),
        ...(rate ? { serviceFlags: { download: ['--max-download-rate', rate] } } : {}),
      },
      defer,
    );
    prefix = `peershare.${peer.peerId}.downloads`;
    prefixes.push(prefix);
    split.push(peer);
    peers.push({ host: peer.host, dataDir: peer.dataDir, peerId: peer.peerId });
  }
  await converged(peers);
  return { queue: 'rabbitmq', peers: peers as CommandNetwork['peers'], split, prefixes };
}
