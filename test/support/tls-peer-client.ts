/**
 * A peer that is only a TLS client: its own identity (an in-memory key unless one is given) and
 * certificate, talking to peer ports through the shared HTTP client, as any other peer would. For
 * tests that post their own (honest, forged, replayed or malformed) requests to peer routes.
 * Answers come back as { status, body } whatever the status, so refusals can be inspected.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { isPeershareError } from '../../src/shared/errors.ts';
import { dialPeer, HttpClient } from '../../src/shared/http-client.ts';
import { memorySigner, type KeyHolder } from '../../src/shared/keys.ts';
import { PeerTls } from '../../src/shared/peer-tls.ts';

export interface Answer {
  status: number;
  body: { error?: { code: string; message: string; details?: Record<string, unknown> } } & Record<string, unknown>;
}

export interface TlsPeerClient {
  readonly signer: KeyHolder;
  readonly tls: PeerTls;
  /** POST a JSON body to the peer at `address` (host:port), expecting `peerId` there when given. */
  post(address: string, path: string, body: unknown, peerId?: string): Promise<Answer>;
  /** A request with a raw body and content type (malformed JSON, other media types). */
  raw(address: string, method: string, path: string, body?: string, contentType?: string): Promise<Answer>;
}

export async function tlsPeerClient(signer: KeyHolder = memorySigner()): Promise<TlsPeerClient> {
  const tls = new PeerTls(signer);
  await tls.ready();
  const client = new HttpClient({ tls, timeoutMs: 10_000 });
  return {
    signer,
    tls,
    async post(address, path, body, peerId) {
      try {
        const answer = await client.json<Answer['body']>(
          { kind: 'peer', address, peerId },
          { method: 'POST', path, json: body },
        );
        return { status: answer.status, body: answer.body };
      } catch (err) {
        const status = isPeershareError(err) ? err.details?.status : undefined;
        if (typeof status !== 'number') throw err;
        return { status, body: (err as { details: { body: Answer['body'] } }).details.body };
      }
    },
    async raw(address, method, path, body, contentType) {
      const { socket } = await dialPeer(tls, address, undefined);
      const response = await new Promise<IncomingMessage>((resolve, reject) => {
        const req = httpRequest(
          {
            createConnection: () => socket,
            method,
            path,
            headers: {
              host: address,
              connection: 'close',
              ...(contentType ? { 'content-type': contentType } : {}),
              ...(body !== undefined ? { 'content-length': Buffer.byteLength(body) } : {}),
            },
          },
          resolve,
        );
        req.once('error', reject);
        req.end(body);
      });
      const parts: Buffer[] = [];
      for await (const chunk of response) parts.push(chunk as Buffer);
      const text = Buffer.concat(parts).toString('utf8');
      return { status: response.statusCode ?? 0, body: (text ? JSON.parse(text) : {}) as Answer['body'] };
    },
  };
}
