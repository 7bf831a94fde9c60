/** What every service factory of one peer shares: its config, identity, logger and API token. */
import { mkdirSync } from 'node:fs';
import { resolveApiToken } from '../shared/admin-guard.ts';
import type { Config } from '../shared/config.ts';
import { loadOrCreateIdentity, type Identity } from '../shared/identity.ts';
import type { Logger } from '../shared/logging.ts';
import { hostPort } from '../shared/net.ts';
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
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const identity = loadOrCreateIdentity(config.dataDir);
  return {
    config,
    identity,
    logger: logger.child({ peerId: identity.peerId }),
    apiToken: resolveApiToken(config.host, config.dataDir, config.apiToken),
    tls: new PeerTls(identity),
  };
}

/** host:port of one of this peer's services, as other processes on this host reach it. */
export function localAddress(config: Config, port: number): string {
  const host = config.host === '0.0.0.0' ? '127.0.0.1' : config.host === '::' ? '::1' : config.host;
  return hostPort(host, port);
}
