/**
 * Start a real File Management service (the production wiring, a real port on its own loopback
 * address, a temporary data directory) for one test, stopped and removed when the test ends.
 */
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import type { FilesService } from '../../src/files/service.ts';
import { createPeerContext, startPeer } from '../../src/peer/wiring.ts';
import { loadConfig, type SettingName } from '../../src/shared/config.ts';
import { silentLogger } from '../../src/shared/logging.ts';
import { formatPeerAddress } from '../../src/shared/peer-address.ts';
import type { PeerTls } from '../../src/shared/peer-tls.ts';
import { nextLoopback } from './loopback.ts';
import { tempDir } from './temp.ts';

export interface FilesPeer {
  /** Its API as this host's plaintext callers reach it. */
  url: string;
  /** What a download names it by: `peerId@host:port` (dialled over TLS, pinned to that id). */
  source: string;
  peerId: string;
  /** Its TLS credentials. */
  tls: PeerTls;
  host: string;
  dataDir: string;
  service: FilesService;
  stop(): Promise<void>;
}

export async function startFilesPeer(flags: Partial<Record<SettingName, unknown>> = {}): Promise<FilesPeer> {
  const host = nextLoopback();
  const dataDir = (flags.dataDir as string | undefined) ?? join(tempDir(), 'data');
  const config = loadConfig({ flags: { host, dataDir, ...flags } });
  const peer = await startPeer(createPeerContext(config, silentLogger()), ['files']);
  onTestFinished(() => peer.stop());
  const service = peer.services.files!;
  const { tls } = peer.context;
  return {
    url: service.url,
    source: formatPeerAddress({ peerId: tls.peerId, address: new URL(service.url).host }),
    peerId: tls.peerId,
    tls,
    host,
    dataDir,
    service,
    stop: () => peer.stop(),
  };
}

/** Upload bytes under a name; returns the response. */
export function upload(url: string, name: string, body: Uint8Array | string): Promise<Response> {
  return fetch(`${url}/files?name=${encodeURIComponent(name)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream' },
    body,
  });
}
