/**
 * Chunks and manifests from other peers' File Management, over TLS 1.3 pinned to the peer id
 * each source names (`peerId@host:port`): an address whose certificate proves another id, or
 * none, fails with PEER_ID_MISMATCH or PEER_UNVERIFIED before a request is sent. Manifests come
 * through the shared HttpClient; range answers through RangeClient (the hot path, keep-alive
 * connections per source), streaming into the caller's sink as they arrive: a source that
 * ignores the range, announces another one, or streams more bytes than asked is cut off at the
 * declared size and the request fails, so no extra byte is ever kept or written.
 */
import { request as httpRequest } from 'node:http';
import type { Socket } from 'node:net';
import type { Manifest } from '../../../shared/content.ts';
import { PeershareError } from '../../../shared/errors.ts';
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
    if (connectBack) return manifestOver(await connectBack(signal), address, fileId, signal);
    const { body } = await this.#client.json<Manifest>(
      { kind: 'peer', address, peerId },
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

/** GET a manifest over a connection the source opened to us (a connect-back), then close it. */
function manifestOver(socket: Socket, address: string, fileId: string, signal: AbortSignal): Promise<Manifest> {
  return new Promise<Manifest>((resolve, reject) => {
    const fail = (err: Error) => {
      socket.destroy();
      reject(
        err instanceof PeershareError
          ? err
          : new PeershareError('UNAVAILABLE', `manifest over the connect-back failed: ${err.message}`),
      );
    };
    const req = httpRequest(
      {
        createConnection: () => socket,
        method: 'GET',
        path: `/files/${fileId}/manifest`,
        headers: { host: address, connection: 'close' },
        signal,
      },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          return fail(new PeershareError('UNAVAILABLE', `source answered ${res.statusCode} for the manifest`));
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_MANIFEST_BYTES) return fail(new PeershareError('BAD_SOURCE', 'manifest over its size cap'));
          chunks.push(chunk);
        });
        res.on('error', fail);
        res.on('end', () => {
          socket.destroy();
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Manifest);
          } catch {
            reject(new PeershareError('BAD_SOURCE', 'manifest is not JSON'));
          }
        });
      },
    );
    req.on('error', fail);
    req.end();
  });
}
