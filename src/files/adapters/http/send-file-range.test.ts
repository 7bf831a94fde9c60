import { randomBytes } from 'node:crypto';
import { RateLimit } from '../../../shared/throttle.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpApp, type HttpApp } from '../../../shared/http-server.ts';
import { silentLogger } from '../../../shared/logging.ts';
import type { FileManager } from '../../domain/file-manager.ts';
import { FileRange } from '../fs/file-range.ts';
import { registerFilesRoutes } from './files-routes.ts';
import { SEND_BUFFER_BYTES, SEND_BUFFERS } from './send-file-range.ts';

const MiB = 1024 * 1024;
const HOST = '127.0.77.9';
const ID = 'a'.repeat(64);

/** A FileRange that records every buffer it is asked to read into, and whether it was destroyed. */
class WatchedRange extends FileRange {
  static last: WatchedRange | undefined;
  /** When set, the first read's result is held back until the second read has completed. */
  static firstLast = false;
  readonly buffers = new Set<ArrayBufferLike>();
  reads = 0;
  /** Most reads in flight at once. */
  mostInFlight = 0;
  #inFlight = 0;
  #secondDone!: () => void;
  readonly #second = new Promise<void>((resolve) => (this.#secondDone = resolve));
  override async readInto(buffer: Uint8Array): Promise<number> {
    this.buffers.add(buffer.buffer);
    const nth = ++this.reads;
    this.mostInFlight = Math.max(this.mostInFlight, ++this.#inFlight);
    const n = await super.readInto(buffer);
    if (WatchedRange.firstLast && nth === 1) await this.#second;
    if (nth === 2) this.#secondDone();
    this.#inFlight--;
    return n;
  }
}

describe('files content route: sending a range', () => {
  let dir: string;
  let file: string;
  let content: Buffer;
  let app: HttpApp;
  let base: { port: number };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'peershare-send-range-'));
    file = join(dir, 'f.bin');
    content = randomBytes(8 * MiB + 123);
    writeFileSync(file, content);
    const manager = {
      get: () => ({ id: ID, name: 'f.bin', size: content.length }),
      open: async (_id: string, start: number, end: number) => {
        WatchedRange.last = new WatchedRange(await open(file, 'r'), start, end, MiB);
        return { stream: WatchedRange.last, size: content.length };
      },
    } as unknown as FileManager;
    app = await createHttpApp({ service: 'test', logger: silentLogger() });
    registerFilesRoutes(app, {
      manager,
      admin: async () => undefined,
      isAdmin: async () => false,
      maxUploadBytes: 0,
      uploads: new RateLimit(0),
    });
    await app.listen({ host: HOST, port: 0 });
    base = { port: (app.server.address() as { port: number }).port };
  });
  afterAll(async () => {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (range: string) => fetch(`http://${HOST}:${base.port}/files/${ID}/content`, { headers: { range } });

  it('sends the exact bytes of the range from a few buffers read into again, not a new one per read', async () => {
    const res = await get(`bytes=5-${content.length - 1}`);
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toBe(`bytes 5-${content.length - 1}/${content.length}`);
    const body = Buffer.from(await res.arrayBuffer());
    expect(body.equals(content.subarray(5))).toBe(true);
    const range = WatchedRange.last!;
    expect(range.reads).toBe(Math.ceil((content.length - 5) / SEND_BUFFER_BYTES));
    expect(range.buffers.size).toBeLessThanOrEqual(SEND_BUFFERS);
    expect(range.destroyed).toBe(true);
  });

  it("reads ahead into every free buffer and sends in the file's order reads that complete out of it", async () => {
    WatchedRange.firstLast = true;
    try {
      const res = await get(`bytes=0-${content.length - 1}`);
      const body = Buffer.from(await res.arrayBuffer());
      expect(body.equals(content)).toBe(true);
      expect(WatchedRange.last!.mostInFlight).toBe(SEND_BUFFERS);
    } finally {
      WatchedRange.firstLast = false;
    }
  });

  it('sends short ranges, one of a single byte and one across a read boundary, one after the other', async () => {
    for (const [start, end] of [
      [0, 0],
      [MiB - 1, MiB + 1],
    ] as const) {
      const res = await get(`bytes=${start}-${end}`);
      expect(Buffer.from(await res.arrayBuffer()).equals(content.subarray(start, end + 1))).toBe(true);
    }
  });

  it('stops reading and closes the file when the client goes away mid-answer', async () => {
    const closed = await new Promise<WatchedRange>((resolve) => {
      const req = request(
        {
          host: HOST,
          port: base.port,
          path: `/files/${ID}/content`,
          headers: { range: `bytes=0-${content.length - 1}` },
        },
        (res) => {
          res.once('data', () => {
            const range = WatchedRange.last!;
            req.destroy();
            range.once('close', () => resolve(range));
          });
        },
      );
      req.on('error', () => undefined);
      req.end();
    });
    expect(closed.destroyed).toBe(true);
    expect(closed.remaining).toBeGreaterThan(0);
  });
});
