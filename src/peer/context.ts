/** What every service factory of one peer shares: its config, identity, logger and API token. */
import { mkdirSync } from 'node:fs';
import { resolveApiToken } from '../shared/admin-guard.ts';
import type { Config } from '../shared/config.ts';
import { limitHeapGrowth } from '../shared/heap-growth.ts';
import { loadOrCreateIdentity, type Identity } from '../shared/identity.ts';
import type { Logger } from '../shared/logging.ts';
import { isIP } from 'node:net';
import { hostPort } from '../shared/address.ts';
import { isLoopback, isWildcard } from '../shared/net.ts';
import { PeerTls } from '../shared/peer-tls.ts';

export interface PeerContext {
  config: Config;
  identity: Identity;
  logger: Logger;
  apiToken: string | undefined;
  /** TLS credentials from the identity key, for every connection to or from another peer; current once startPeer has begun. */
  tls: PeerTls;
}

export function createPeerContext(config: Config, logger: Logger): PeerContext {
  limitHeapGrowth(config.heapGrowth); // process-wide: the last peer made in a process sets it
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const identity = loadOrCreateIdentity(config.dataDir);
  return {
    config,
    identity,
    logger: logger.child({ peerId: identity.peerId }),
    apiToken: resolveApiToken(config.host, config.dataDir, config.apiToken),
    tls: new PeerTls(identity, {
      handshakeTimeoutMs: config.peerHandshakeTimeout,
      maxUnprovenPerAddress: config.peerMaxUnprovenPerAddress,
      maxUnproven: config.peerMaxUnproven,
    }),
  };
}

/**
 * Where the Client API (and the web UI) and the Download API listen: always a loopback address,
 * since they serve only this machine's user and carry the API token in clear. A peer bound to a
 * public or wildcard address keeps them on 127.0.0.1 (or ::1).
 */
export function apiHostOf(config: Config): string {
  if (config.apiHost !== undefined) return config.apiHost;
  if (isLoopback(config.host)) return config.host;
  return isIP(config.host) === 6 ? '::1' : '127.0.0.1';
}

/** host:port of the Client or Download API, for the other processes of this peer. */
export function localApiAddress(config: Config, port: number): string {
  return hostPort(apiHostOf(config), port);
}

/** host:port of one of this peer's services, as other processes on this host reach it. */
export function localAddress(config: Config, port: number): string {
  const host = config.host === '0.0.0.0' ? '127.0.0.1' : config.host === '::' ? '::1' : config.host;
  return hostPort(host, port);
}

/**
 * Whether this peer learns the address it advertises from other peers (the address they see it
 * at, confirmed by a dial-back): bound to a wildcard with no --advertise.
 */
export function learnsAddress(config: Config): boolean {
  // With a router asked to forward the ports, the address to advertise is the router's, learned the same way.
  return config.advertise.length === 0 && (isWildcard(config.host) || config.nat !== 'off');
}

/**
 * host:port other peers are told to dial for one of this peer's services, one per advertised
 * address in the order given (--advertise, each service at its bound port, or at `dialPort` when
 * a router forwards another one: --advertise-*-port), else the bound
 * address; bound to a wildcard, this host's loopback until an address is learned (a loopback
 * address only ever serves peers on this host: other hosts refuse records naming one).
 */
export function advertisedAddresses(config: Config, port: number, dialPort = port): string[] {
  return config.advertise.length === 0
    ? [localAddress(config, port)]
    : config.advertise.map((host) => hostPort(host, dialPort));
}
