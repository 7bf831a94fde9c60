/**
 * Chunks and manifests from remote File Management APIs over HTTP, with one keep-alive pool
 * per process. A range answer streams into the caller's sink as it arrives: a source that
 * ignores the range, announces another one, or streams more bytes than asked is cut off at the
 * declared size and the request fails, so no extra byte is ever kept or written.
 */
import { Agent, request, type IncomingMessage } from 'node:http';
import type { Manifest } from '../../../shared/content.ts';
import { PeershareError } from '../../../shared/errors.ts';
import type { ChunkSource, RangeSink } from '../../ports.ts';

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

/**
 * Hand a range answer to `sink` piece by piece, pausing while the sink's promise is pending.
 * A body longer than `length` is cut off at `length` and fails: no extra byte reaches the sink.
 */
function pipeRange(res: IncomingMessage, length: number, sink: RangeSink, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    let received = 0;
    let settled = false;
    let pending: Promise<void> | undefined; // the sink's work on the latest piece
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      res.destroy();
      reject(err);
    };
    const deliver = (piece: Buffer) => {
      let result: void | Promise<void>;
      try {
        result = sink(piece);
      } catch (err) {
        fail(err);
        return;
      }
      if (result) {
        res.pause();
        const current = (pending = result.then(() => {
          if (pending === current) pending = undefined;
          if (!settled) res.resume();
        }, fail));
      }
    };
    const finish = () => {
      if (settled) return;
      settled = true;
      resolve();
    };
    res.on('data', (piece: Buffer) => {
      if (settled) return;
      if (received + piece.length > length) {
        fail(new PeershareError('BAD_SOURCE', `source sent more than the ${length} bytes asked for`));
        return;
      }
      received += piece.length;
      deliver(piece);
    });
    res.on('end', () => {
      if (settled) return;
      if (received !== length) fail(new PeershareError('BAD_SOURCE', `source sent ${received} of ${length} bytes`));
      else if (pending) void pending.then(finish);
      else finish();
    });
    res.on('error', (err) => fail(signal.aborted ? signal.reason : err));
    res.on('aborted', () => fail(signal.aborted ? signal.reason : new PeershareError('UNAVAILABLE', 'source closed the connection')));
  });
}

export class HttpChunkSource implements ChunkSource {
  readonly #agent: Agent;

  constructor(maxSocketsPerSource = 8) {
    this.#agent = new Agent({ keepAlive: true, maxSockets: maxSocketsPerSource, maxFreeSockets: maxSocketsPerSource, timeout: 60_000 });
  }

  async manifest(source: string, fileId: string, signal: AbortSignal): Promise<Manifest> {
    const res = await get(`${source}/files/${fileId}/manifest`, this.#agent, { accept: 'application/json' }, signal);
    if (res.statusCode !== 200) {
      res.resume();
      throw new PeershareError(res.statusCode === 404 ? 'FILE_NOT_FOUND' : 'UNAVAILABLE', `manifest from ${source}: HTTP ${res.statusCode}`);
    }
    return JSON.parse((await readBody(res, MAX_MANIFEST_BYTES)).toString('utf8')) as Manifest;
  }

  async range(source: string, fileId: string, start: number, end: number, signal: AbortSignal, sink: RangeSink): Promise<void> {
    const res = await get(`${source}/files/${fileId}/content`, this.#agent, { range: `bytes=${start}-${end}`, 'if-range': `"${fileId}"` }, signal);
    const expected = `bytes ${start}-${end}/`;
    if (res.statusCode !== 206 || !res.headers['content-range']?.startsWith(expected)) {
      res.destroy(); // never read a whole file that a source sends instead of the range
      throw new PeershareError('UNAVAILABLE', `range from ${source}: HTTP ${res.statusCode} ${res.headers['content-range'] ?? ''}`);
    }
    return pipeRange(res, end - start + 1, sink, signal);
  }

  close(): void {
    this.#agent.destroy();
  }
}
