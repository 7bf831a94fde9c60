/**
 * A demo network in one process: several whole peers, each on its own loopback address with the
 * default ports (as separate hosts would run), each with its own data folder under one temporary
 * root, each sharing sample files; each joins through the peer started before it. One process
 * keeps teardown simple and sure: stopping it stops every peer, and nothing is left running.
 */
import { join } from 'node:path';
import { loadConfig } from '../shared/config.ts';
import { PeershareError } from '../shared/errors.ts';
import type { Logger } from '../shared/logging.ts';
import { writeSamples } from './demo-samples.ts';
import { createPeerContext, startPeer, type RunningPeer } from '../peer/wiring.ts';

export interface DemoPeer {
  host: string;
  peerId: string;
  /** Sample files it shares. */
  files: number;
  running: RunningPeer;
}

export interface DemoOptions {
  /** How many peers. */
  peers: number;
  /** The first peer's address; the others follow it (127.0.0.2, 127.0.0.3, ...). */
  firstHost: string;
  /** Where every peer's data and sample files go. */
  root: string;
  logger: Logger;
  /** Called as each peer is up and sharing. */
  onPeer?: (peer: DemoPeer, index: number) => void;
}

/** Fetch rounds a little faster than the default, so a newcomer sees the network form in seconds. */
const DEMO_FETCH_INTERVAL_MS = 1_000;

/** The address `offset` places after an IPv4 address (127.0.0.2 + 3 = 127.0.0.5). */
export function addressAfter(first: string, offset: number): string {
  const parts = first.split('.').map(Number);
  const n = ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) + offset;
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** A failure to listen, said so a person knows what to do. */
function explainListenError(err: unknown, host: string): unknown {
  const e = err as NodeJS.ErrnoException & { port?: number };
  if (e?.code === 'EADDRINUSE') {
    return new PeershareError(
      'UNAVAILABLE',
      `${host}:${e.port ?? '?'} is already in use (another peer running there?); stop it, or put the demo on other addresses: peershare demo --host 127.0.1.2`,
    );
  }
  if (e?.code === 'EADDRNOTAVAIL') {
    return new PeershareError(
      'UNAVAILABLE',
      `${host} is not an address of this machine (Linux routes all of 127.0.0.0/8 to loopback; elsewhere add it, e.g. macOS: sudo ifconfig lo0 alias ${host})`,
    );
  }
  return err;
}

/**
 * Start the peers one after another, each sharing its sample files. `peers` is filled as they
 * come up, so that whoever stops the demo midway stops the ones already running.
 */
export async function startDemoPeers(options: DemoOptions, peers: DemoPeer[]): Promise<void> {
  const folders = writeSamples(options.root, options.peers);
  for (let i = 0; i < options.peers; i++) {
    const host = addressAfter(options.firstHost, i);
    const config = loadConfig({
      flags: {
        host,
        dataDir: join(options.root, `peer-${i + 1}`, 'data'),
        fetchInterval: String(DEMO_FETCH_INTERVAL_MS),
        ...(i > 0 ? { join: peers[i - 1]!.host } : {}),
      },
    });
    let running: RunningPeer;
    try {
      running = await startPeer(createPeerContext(config, options.logger));
    } catch (err) {
      throw explainListenError(err, host);
    }
    const peer: DemoPeer = { host, peerId: running.context.identity.peerId, files: folders[i]!.files, running };
    peers.push(peer);
    await running.services.files!.manager.share(folders[i]!.path);
    options.onPeer?.(peer, i);
  }
}

/** Whether every peer knows every other alive and its Search is linked to as many as it may be. */
export function demoConverged(peers: readonly DemoPeer[]): boolean {
  return peers.every(({ running: { services, context } }) => {
    const alive = services.fetch!.peers().filter((p) => p.state === 'alive').length;
    const links = services.search!.links.list().length;
    return alive === peers.length - 1 && links >= Math.min(peers.length - 1, context.config.maxLinks);
  });
}

/** Resolves true once demoConverged() holds, false if it does not within `timeoutMs`. */
export async function waitForDemoNetwork(peers: readonly DemoPeer[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!demoConverged(peers)) {
    if (Date.now() > deadline) return false;
    // Fetch rounds and overlay dials run on their own timers: look again shortly.
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return true;
}

/** Stop every peer, all at once (each says goodbye to the others). */
export async function stopDemoPeers(peers: readonly DemoPeer[]): Promise<void> {
  await Promise.allSettled(peers.map((p) => p.running.stop()));
}
