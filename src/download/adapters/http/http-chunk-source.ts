/**
 * Chunks and manifests from other peers' File Management, over TLS 1.3 pinned to the peer id
 * each source names (`peerId@host:port`): an address whose certificate proves another id, or
 * none, fails with PEER_ID_MISMATCH or PEER_UNVERIFIED before a request is sent. Manifests come
 * through the shared HttpClient (over a connect-back too); range answers through RangeClient (the hot path, keep-alive
 * connections per source), streaming into the caller's sink as they arrive: a source that
 * ignores the range, announces another one, or streams more bytes than asked is cut off at the
 * declared size and the request fails, so no extra byte is ever kept or written.
 */
import type { Manifest } from '../../../shared/content.ts';
import { HttpClient } from '../../../shared/http-client.ts';
import type { PeerTls } from '../../../shared/peer-tls.ts';
import type { ChunkSource, RangeSink } from '../../ports.ts';
import { peerOfSource, RangeClient, type ConnectBack } from './range-client.ts';

/**
 * For a source that cannot be dialled (a firewalled peer): how to have it connect back for
 * `fileId` (PUSH); undefined for a source dialled as usual.
 */
export type ConnectBackFor = (peerId: string, fileId: string) => ConnectBack | undefined;

const MAX_MANIFEST_BYTES = 8 * 1024 * 1024;
/** The manifest step sets the real deadline through its signal (manifest-race.ts); this one only bounds a caller that sets none. */
const MANIFEST_TIMEOUT_MS = 60_000;

export class HttpChunkSource implements ChunkSource {
  readonly #client: HttpClient;
  readonly #ranges: RangeClient;

  readonly #connectBackFor: ConnectBackFor | undefined;

  constructor(tls: PeerTls, maxSocketsPerSource = 8, connectBackFor?: ConnectBackFor) {
    this.#client = new HttpClient({ tls, timeoutMs: MANIFEST_TIMEOUT_MS, maxResponseBytes: MAX_MANIFEST_BYTES });
    this.#ranges = new RangeClient(tls, maxSocketsPerSource);
    this.#connectBackFor = connectBackFor;
  }

  async manifest(source: string, fileId: string, signal: AbortSignal): Promise<Manifest> {
    const { peerId, address } = peerOfSource(source);
    const connectBack = this.#connectBackFor?.(peerId, fileId);
    // A firewalled source: over the connection it opened to us (its id proven there), then closed.
    const socket = connectBack ? await connectBack(signal) : undefined;
    const { body } = await this.#client.json<Manifest>(
      { kind: 'peer', address, peerId, ...(socket ? { socket } : {}) },
      { path: `/files/${fileId}/manifest`, signal },
    );
    return body;
  }

  range(
    source: string,
    fileId: string,
    start: number,
    end: number,
    signal: AbortSignal,
    sink: RangeSink,
  ): Promise<void> {
    const connectBack = this.#connectBackFor?.(peerOfSource(source).peerId, fileId);
    return this.#ranges.get(source, `/files/${fileId}/content`, start, end, `"${fileId}"`, signal, sink, connectBack);
  }

  close(): void {
    this.#client.close();
    this.#ranges.close();
  }
}
