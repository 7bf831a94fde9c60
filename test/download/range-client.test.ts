/**
 * The range client against raw servers behind TLS (a peer identity each) on loopback that
 * answer exactly as each case needs:
 * keep-alive reuse, a kept-alive connection the server closed, heads split across reads, and
 * every way an answer can be wrong. The happy path over real File Management is covered by
 * transfer.test.ts and the download tests.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { RangeClient } from '../../src/download/adapters/http/range-client.ts';
import { startUnreachableSource } from '../support/bad-sources.ts';
import { nextLoopback } from '../support/loopback.ts';
import { listenAsPeer, newPeerTls } from '../support/peer-source.ts';

type Answer = (socket: Socket, request: string) => void;

/** A server (TLS, an identity of its own) that hands each request (its head) to `answer`; counts connections. */
async function rawServer(
  answer: Answer,
): Promise<{ url: string; address: string; connections: () => number; server: Server }> {
  const host = nextLoopback();
  let connections = 0;
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let head = '';
    socket.on('data', (data) => {
      head += data.toString('latin1');
      let end: number;
      while ((end = head.indexOf('\r\n\r\n')) >= 0) {
        const request = head.slice(0, end);
        head = head.slice(end + 4);
        answer(socket, request);
      }
    });
  });
  const peer = await listenAsPeer(server, host);
  onTestFinished(() => {
    for (const s of sockets) s.destroy();
  });
  return { url: peer.source, address: `${host}:${peer.port}`, connections: () => connections, server };
}

const BODY = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz');

function rangeOf(request: string): [number, number] {
  const m = /range: bytes=(\d+)-(\d+)/i.exec(request)!;
  return [Number(m[1]), Number(m[2])];
}

/** An honest 206 answer for the range asked. */
function honest(socket: Socket, request: string, extra: Partial<{ head: string; body: Buffer }> = {}): void {
  const [a, b] = rangeOf(request);
  const body = extra.body ?? BODY.subarray(a, b + 1);
  socket.write(
    `HTTP/1.1 206 Partial Content\r\nContent-Range: bytes ${a}-${b}/${BODY.length}\r\nContent-Length: ${b - a + 1}\r\n${extra.head ?? ''}\r\n`,
  );
  socket.write(body);
}

async function get(
  client: RangeClient,
  url: string,
  start: number,
  end: number,
  signal = new AbortController().signal,
) {
  const pieces: Buffer[] = [];
  await client.get(url, '/files/x/content', start, end, '"x"', signal, {
    take: (piece) => void pieces.push(Buffer.from(piece)),
  });
  return Buffer.concat(pieces);
}

async function newClient(): Promise<RangeClient> {
  const client = new RangeClient(await newPeerTls());
  onTestFinished(() => client.close());
  return client;
}

describe('the range client', () => {
  it('streams exactly the range asked for and reuses the connection for the next request', async () => {
    const source = await rawServer((s, r) => honest(s, r));
    const client = await newClient();
    expect((await get(client, source.url, 0, 9)).toString()).toBe('0123456789');
    expect((await get(client, source.url, 10, 35)).toString()).toBe('abcdefghijklmnopqrstuvwxyz');
    expect(source.connections()).toBe(1);
  });

  it('sends the range, the If-Range validator and the Host', async () => {
    let seen = '';
    const source = await rawServer((s, r) => {
      seen = r;
      honest(s, r);
    });
    await get(await newClient(), source.url, 3, 5);
    expect(seen).toMatch(/^GET \/files\/x\/content HTTP\/1\.1\r\n/);
    expect(seen).toMatch(/\r\nRange: bytes=3-5\r\n/);
    expect(seen).toMatch(/\r\nIf-Range: "x"\r\n/);
    expect(seen).toContain(`\r\nHost: ${source.address}\r\n`);
  });

  it('parses a head that arrives a byte at a time', async () => {
    const source = await rawServer((socket, request) => {
      const [a, b] = rangeOf(request);
      const answer = Buffer.concat([
        Buffer.from(
          `HTTP/1.1 206 Partial Content\r\nContent-Range: bytes ${a}-${b}/36\r\nContent-Length: ${b - a + 1}\r\n\r\n`,
        ),
        BODY.subarray(a, b + 1),
      ]);
      let i = 0;
      const next = () => {
        if (i < answer.length) socket.write(answer.subarray(i, ++i), () => setImmediate(next));
      };
      next();
    });
    expect((await get(await newClient(), source.url, 4, 12)).toString()).toBe('456789abc');
  });

  it('replaces a kept-alive connection that the source closed, once, when it dies before answering', async () => {
    const requestsOn = new WeakMap<Socket, number>();
    const source = await rawServer((socket, request) => {
      const n = (requestsOn.get(socket) ?? 0) + 1;
      requestsOn.set(socket, n);
      if (n === 1) honest(socket, request);
      else socket.destroy(); // as if it had timed out the idle connection just as the request came
    });
    const client = await newClient();
    expect((await get(client, source.url, 0, 3)).toString()).toBe('0123');
    expect((await get(client, source.url, 4, 7)).toString()).toBe('4567');
    expect(source.connections()).toBe(2);
  });

  it('refuses an answer that ignores the range, without reading its body', async () => {
    const source = await rawServer((socket) => {
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${BODY.length}\r\n\r\n`);
      socket.write(BODY);
    });
    const pieces: Buffer[] = [];
    await expect(
      (await newClient()).get(source.url, '/f', 0, 3, '"x"', new AbortController().signal, {
        take: (p) => void pieces.push(p),
      }),
    ).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(pieces).toEqual([]);
  });

  it('refuses a chunked answer or one whose declared length is not the range', async () => {
    const chunked = await rawServer((socket, request) => {
      const [a, b] = rangeOf(request);
      socket.write(
        `HTTP/1.1 206 Partial Content\r\nContent-Range: bytes ${a}-${b}/36\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n0123\r\n0\r\n\r\n`,
      );
    });
    await expect(get(await newClient(), chunked.url, 0, 3)).rejects.toMatchObject({ code: 'BAD_SOURCE' });
    const longer = await rawServer((socket, request) => {
      const [a, b] = rangeOf(request);
      socket.write(
        `HTTP/1.1 206 Partial Content\r\nContent-Range: bytes ${a}-${b}/36\r\nContent-Length: ${b - a + 2}\r\n\r\n`,
      );
    });
    await expect(get(await newClient(), longer.url, 0, 3)).rejects.toMatchObject({ code: 'BAD_SOURCE' });
  });

  it('cuts off a body longer than declared: no byte past the range reaches the sink', async () => {
    const source = await rawServer((socket, request) =>
      honest(socket, request, { body: Buffer.concat([BODY.subarray(0, 4), Buffer.from('EXTRA')]) }),
    );
    const pieces: Buffer[] = [];
    await expect(
      (await newClient()).get(source.url, '/f', 0, 3, '"x"', new AbortController().signal, {
        take: (p) => void pieces.push(Buffer.from(p)),
      }),
    ).rejects.toMatchObject({ code: 'BAD_SOURCE' });
    expect(Buffer.concat(pieces).toString()).not.toContain('EXTRA');
  });

  it('fails with UNAVAILABLE when the source closes mid-body, and refuses oversized or garbled heads', async () => {
    const cut = await rawServer((socket, request) => {
      honest(socket, request, { body: BODY.subarray(0, 2) });
      socket.end();
    });
    await expect(get(await newClient(), cut.url, 0, 9)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    const chatty = await rawServer((socket) =>
      socket.write(`HTTP/1.1 206 Partial Content\r\nX: ${'y'.repeat(20_000)}\r\n\r\n`),
    );
    await expect(get(await newClient(), chatty.url, 0, 3)).rejects.toMatchObject({ code: 'BAD_SOURCE' });
    const garbled = await rawServer((socket) => socket.write('EXTRA BYTES FROM BEFORE\r\n\r\n'));
    await expect(get(await newClient(), garbled.url, 0, 3)).rejects.toMatchObject({ code: 'BAD_SOURCE' });
  });

  it('pauses reading while the sink works, and stops at once when aborted', async () => {
    let second!: () => Promise<void>;
    const source = await rawServer((socket, request) => {
      const [a, b] = rangeOf(request);
      socket.write(
        `HTTP/1.1 206 Partial Content\r\nContent-Range: bytes ${a}-${b}/36\r\nContent-Length: ${b - a + 1}\r\n\r\n`,
      );
      socket.write(BODY.subarray(a, a + 4));
      second = () => new Promise((resolve) => socket.write(BODY.subarray(a + 4, b + 1), () => resolve()));
    });
    const client = await newClient();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const seen: string[] = [];
    let first!: () => void;
    const firstSeen = new Promise<void>((resolve) => (first = resolve));
    const done = client.get(source.url, '/f', 0, 35, '"x"', new AbortController().signal, {
      take: (piece) => {
        seen.push(piece.toString());
        if (seen.length > 1) return undefined;
        first();
        return gate;
      },
    });
    await firstSeen;
    await second(); // the rest is in the socket now
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toEqual(['0123']); // not read while the sink's promise is pending
    release();
    await done;
    expect(seen.join('')).toBe(BODY.toString());

    const stalled = await rawServer(() => undefined); // never answers
    const controller = new AbortController();
    const pending = get(client, stalled.url, 0, 3, controller.signal);
    controller.abort(new Error('cancelled'));
    await expect(pending).rejects.toThrow('cancelled');
  });

  it('keeps every piece the sink holds intact while more TLS records arrive, and hands them on in order', async () => {
    // TLS decrypts a batch of records per read, past a pause: those must not land in the held buffer.
    const big = Buffer.alloc(4 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4) big.writeUInt32BE(i, i);
    const source = await rawServer((socket, request) => {
      const [a, b] = rangeOf(request);
      socket.write(
        `HTTP/1.1 206 Partial Content\r\nContent-Range: bytes ${a}-${b}/${big.length}\r\nContent-Length: ${b - a + 1}\r\n\r\n`,
      );
      socket.write(big.subarray(a, b + 1));
    });
    const client = await newClient();
    const got: Buffer[] = [];
    let damaged = 0;
    await client.get(source.url, '/f', 0, big.length - 1, '"x"', new AbortController().signal, {
      take: (piece) => {
        const copy = Buffer.from(piece);
        got.push(copy);
        // Held across a turn of the event loop: more records are decrypted meanwhile.
        return new Promise<void>((resolve) =>
          setImmediate(() => {
            if (!piece.equals(copy)) damaged++;
            resolve();
          }),
        );
      },
    });
    expect(damaged).toBe(0);
    expect(Buffer.concat(got).equals(big)).toBe(true);
  });

  it('reads the body straight into memory the sink lends, in views it sizes, and the rest through take, in order', async () => {
    const big = Buffer.alloc(4 * 1024 * 1024 + 5);
    for (let i = 0; i + 4 <= big.length; i += 4) big.writeUInt32BE(i, i);
    const source = await rawServer((socket, request) => {
      const [a, b] = rangeOf(request);
      // The head with the first body bytes in one read (they come through take), then the rest.
      socket.write(
        Buffer.concat([
          Buffer.from(
            `HTTP/1.1 206 Partial Content\r\nContent-Range: bytes ${a}-${b}/${big.length}\r\nContent-Length: ${b - a + 1}\r\n\r\n`,
          ),
          big.subarray(a, a + 100),
        ]),
      );
      socket.write(big.subarray(a + 100, b + 1));
    });
    const got = Buffer.alloc(big.length);
    let filled = 0;
    let asked = 0;
    const counts = { taken: 0, landed: 0, tooLong: 0 };
    await (
      await newClient()
    ).get(source.url, '/f', 0, big.length - 1, '"x"', new AbortController().signal, {
      take: (piece) => {
        piece.copy(got, filled);
        filled += piece.length;
        counts.taken += piece.length;
      },
      target: {
        next: (max) => {
          if (++asked % 5 === 0) return undefined; // now and then no memory: through take
          if (max > big.length - filled) counts.tooLong++;
          return got.subarray(filled, filled + Math.min(max, 1000 + (asked % 7) * 3000)); // records split at its end
        },
        landed: (n) => {
          filled += n;
          counts.landed += n;
        },
      },
    });
    expect(got.equals(big)).toBe(true);
    expect(counts.taken).toBeGreaterThanOrEqual(100);
    expect(counts.landed).toBeGreaterThan(big.length / 2);
    expect(counts.taken + counts.landed).toBe(big.length);
    expect(counts.tooLong).toBe(0);
  });

  it('lends no byte past the range: what a source sends beyond it fails the request and never reaches the memory lent', async () => {
    const source = await rawServer((socket, request) => {
      const [a, b] = rangeOf(request);
      socket.write(
        `HTTP/1.1 206 Partial Content\r\nContent-Range: bytes ${a}-${b}/36\r\nContent-Length: ${b - a + 1}\r\n\r\n`,
      );
      // After the head (a read of its own), the body and more in one TLS record.
      setImmediate(() => socket.write(Buffer.concat([BODY.subarray(a, b + 1), Buffer.from('EXTRA')])));
    });
    const memory = Buffer.alloc(64, '.');
    let filled = 0;
    const taken: Buffer[] = [];
    await expect(
      (await newClient()).get(source.url, '/f', 0, 3, '"x"', new AbortController().signal, {
        take: (piece) => void taken.push(Buffer.from(piece)),
        target: {
          next: () => memory.subarray(filled), // offers far more than is due
          landed: (n) => void (filled += n),
        },
      }),
    ).rejects.toMatchObject({ code: 'BAD_SOURCE' });
    // The last byte is never lent: it and what follows it in the read are checked, and refused.
    expect(memory.toString('latin1', 0, 3)).toBe('012');
    expect(memory.toString('latin1', 3)).toBe('.'.repeat(61));
    expect(Buffer.concat(taken).toString()).not.toContain('EXTRA');
  });

  it('fails with UNAVAILABLE, saying so, when the address of the source never completes the TCP handshake', async () => {
    const hole = await startUnreachableSource();
    const client = new RangeClient(await newPeerTls(), 8, 200);
    onTestFinished(() => client.close());
    await expect(get(client, hole.source, 0, 9)).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      message: `peer at ${hole.address}: no TLS connection within 200 ms`,
    });
  });
});
