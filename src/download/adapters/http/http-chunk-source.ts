/**
 * Chunks and manifests from remote File Management APIs over HTTP, with keep-alive pools per
 * process. Manifests come through Node's HTTP client; range answers through RangeClient (the
 * hot path), streaming into the caller's sink as they arrive: a source that ignores the range,
 * announces another one, or streams more bytes than asked is cut off at the declared size and
 * the request fails, so no extra byte is ever kept or written.
 */
import { Agent, request, type IncomingMessage } from 'node:http';
import type { Manifest } from '../../../shared/content.ts';
import { PeershareError } from '../../../shared/errors.ts';
import type { ChunkSource, RangeSink } from '../../ports.ts';
import { RangeClient } from './range-client.ts';

const MAX_MANIFEST_BYTES = 8 * 1024 * 1024;

function get(url: string, agent: Agent, headers: Record<string, string>, signal: AbortSignal): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers, signal }, resolve);
    req.on('error', reject);
    req.end();
  });
}

/** Read a response body into one buffer of at most `max` bytes (exactly `exact` when given). */
function readBody(res: IncomingMessage, max: number, exact?: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const out = exact !== undefined ? Buffer.allocUnsafe(exact) : undefined;
    const parts: Buffer[] = [];
    let length = 0;
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      res.destroy();
      reject(err);
    };
    res.on('data', (chunk: Buffer) => {
      if (settled) return;
      if (length + chunk.length > (exact ?? max)) {
        fail(new PeershareError('BAD_SOURCE', `source sent more than the ${exact ?? max} bytes asked for`));
        return;
      }
      if (out) chunk.copy(out, length);
      else parts.push(chunk);
      length += chunk.length;
    });
    res.on('end', () => {
      if (exact !== undefined && length !== exact) fail(new PeershareError('BAD_SOURCE', `source sent ${length} of ${exact} bytes`));
      else if (!settled) {
        settled = true;
        resolve(out ?? Buffer.concat(parts, length));
      }
    });
    res.on('error', (err) => fail(err));
    res.on('aborted', () => fail(new PeershareError('UNAVAILABLE', 'source closed the connection')));
  });
}

export class HttpChunkSource implements ChunkSource {
  readonly #agent: Agent;
  readonly #ranges: RangeClient;

  constructor(maxSocketsPerSource = 8) {
    this.#agent = new Agent({ keepAlive: true, maxSockets: maxSocketsPerSource, maxFreeSockets: maxSocketsPerSource, timeout: 60_000 });
    this.#ranges = new RangeClient(maxSocketsPerSource);
  }

  async manifest(source: string, fileId: string, signal: AbortSignal): Promise<Manifest> {
    const res = await get(`${source}/files/${fileId}/manifest`, this.#agent, { accept: 'application/json' }, signal);
    if (res.statusCode !== 200) {
      res.resume();
      throw new PeershareError(res.statusCode === 404 ? 'FILE_NOT_FOUND' : 'UNAVAILABLE', `manifest from ${source}: HTTP ${res.statusCode}`);
    }
    return JSON.parse((await readBody(res, MAX_MANIFEST_BYTES)).toString('utf8')) as Manifest;
  }

  range(source: string, fileId: string, start: number, end: number, signal: AbortSignal, sink: RangeSink): Promise<void> {
    return this.#ranges.get(source, `/files/${fileId}/content`, start, end, `"${fileId}"`, signal, sink);
  }

  close(): void {
    this.#agent.destroy();
    this.#ranges.close();
  }
}
