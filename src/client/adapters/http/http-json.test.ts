import type { RequestListener } from 'node:http';
import { describe, expect, it } from 'vitest';
import { stubService } from '../../../../test/support/stub-service.ts';
import { call, callWithProgress, followEvents, sendStream, type SseEvent } from './http-json.ts';

const serve = async (handler: RequestListener): Promise<string> => (await stubService(handler)).url;

/** A port nothing listens on: one that was just closed. */
async function closedPort(): Promise<string> {
  const service = await stubService(() => {});
  await service.close();
  return service.url;
}

const sse = (...events: Array<[string, unknown]>) =>
  events.map(([e, d]) => `event: ${e}\ndata: ${JSON.stringify(d)}\n\n`);

describe("calls to a peer's own HTTP APIs", () => {
  it('sends JSON with the client header and token, and passes an error answer on as it was sent', async () => {
    const url = await serve((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        if (req.url === '/refuse') {
          res.writeHead(409, { 'content-type': 'application/json' });
          return res.end(
            JSON.stringify({ error: { code: 'ALREADY_SHARED', message: 'already there', details: { key: 'k' } } }),
          );
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            got: JSON.parse(body),
            client: req.headers['x-peershare-client'],
            auth: req.headers.authorization,
          }),
        );
      });
    });
    expect(await call('POST', `${url}/echo`, { body: { a: 1 }, token: 't0k' })).toEqual({
      got: { a: 1 },
      client: 'cli',
      auth: 'Bearer t0k',
    });
    await expect(call('POST', `${url}/refuse`, { body: {} })).rejects.toMatchObject({
      code: 'ALREADY_SHARED',
      message: 'already there',
      details: { key: 'k' },
    });
  });

  it('says that nothing answers with the transport code and the URL asked, for the caller to explain', async () => {
    const url = await closedPort();
    await expect(call('GET', `${url}/status`)).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      details: { cause: 'ECONNREFUSED', url: `${url}/status` },
    });
    await expect(followEvents(`${url}/events`, () => {})).rejects.toMatchObject({
      details: { cause: 'ECONNREFUSED' },
    });
  });

  it('says a deadline passed as a transport timeout, so callers explain it as not answering', async () => {
    const url = await serve(() => {}); // takes the request, never answers
    await expect(call('GET', `${url}/slow`, { timeoutMs: 50 })).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      details: { cause: 'ETIMEDOUT', url: `${url}/slow` },
    });
  });

  it('streams an upload whole, and stops sending when the service refuses it before the end', async () => {
    let received = 0;
    const url = await serve((req, res) => {
      if (req.url?.startsWith('/refuse')) {
        req.resume(); // read and drop the rest, as the services do, so the client reads the answer, not a reset
        res.writeHead(413, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ error: { code: 'PAYLOAD_TOO_LARGE', message: 'too big' } }));
      }
      req.on('data', (c: Buffer) => (received += c.length));
      req.on('end', () => {
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ received, type: req.headers['content-type'], length: req.headers['content-length'] }));
      });
    });
    const chunk = new Uint8Array(64 * 1024);
    async function* body(chunks: number, sent: { count: number }) {
      for (let i = 0; i < chunks; i++) {
        sent.count++;
        yield chunk;
      }
    }
    const whole = { count: 0 };
    expect(await sendStream(`${url}/files?name=a`, body(4, whole), { contentLength: 4 * chunk.length })).toEqual({
      status: 201,
      body: { received: 4 * chunk.length, type: 'application/octet-stream', length: String(4 * chunk.length) },
    });
    const refused = { count: 0 };
    const huge = 100_000; // 6.5 GB if it were all sent
    await expect(
      sendStream(`${url}/refuse`, body(huge, refused), { contentLength: huge * chunk.length }),
    ).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE', message: 'too big' });
    expect(refused.count).toBeLessThan(huge);
  });

  it('follows Server-Sent Events until the stream ends', async () => {
    const url = await serve((req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const block of sse(['hit', { n: 1 }], ['hit', { n: 2 }])) res.write(block);
      res.end(sse(['summary', { hits: 2 }])[0]);
    });
    const events: SseEvent[] = [];
    const stream = await followEvents(`${url}/search?q=a`, (e) => events.push(e));
    await stream.ended;
    expect(events).toEqual([
      { event: 'hit', data: { n: 1 } },
      { event: 'hit', data: { n: 2 } },
      { event: 'summary', data: { hits: 2 } },
    ]);
  });

  it('answers a call with progress with its result, its error event, or says the answer ended before a result', async () => {
    const url = await serve((req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (req.url === '/ok')
        res.end(sse(['progress', { done: 1 }], ['progress', { done: 2 }], ['result', { id: 'f' }]).join(''));
      else if (req.url === '/fails')
        res.end(sse(['progress', { done: 1 }], ['error', { code: 'DISK_FULL', message: 'full' }]).join(''));
      else res.end(sse(['progress', { done: 1 }]).join(''));
    });
    const progress: unknown[] = [];
    expect(await callWithProgress('POST', `${url}/ok`, (p) => progress.push(p), { body: {} })).toEqual({ id: 'f' });
    expect(progress).toEqual([{ done: 1 }, { done: 2 }]);
    await expect(callWithProgress('POST', `${url}/fails`, () => {})).rejects.toMatchObject({
      code: 'DISK_FULL',
      message: 'full',
    });
    await expect(callWithProgress('POST', `${url}/cut`, () => {})).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      message: `${new URL(url).host} ended the answer before its result`,
    });
  });
});
