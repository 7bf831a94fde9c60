import type { RequestListener } from 'node:http';
import { describe, expect, it } from 'vitest';
import { stubService } from '../../test/support/stub-service.ts';
import { memorySigner } from '../shared/keys.ts';
import { FirewalledSeen, filesFeedOverHttp, registryOverHttp, sourcesOverHttp } from './remote-ports.ts';

const serve = async (handler: RequestListener): Promise<string> => (await stubService(handler)).url;

describe("the split-mode ports over this peer's own services", () => {
  it('registers a finished download with the manifest it was verified against, so File Management does not hash it again', async () => {
    const requests: Array<{ method?: string; url?: string; body: unknown }> = [];
    const url = await serve((req, res) => {
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString('utf8')));
      req.on('end', () => {
        requests.push({ method: req.method, url: req.url, body: JSON.parse(text) as unknown });
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ id: 'x', name: 'f', path: '/d/f', size: 1, hashed: false }));
      });
    });
    const manifest = { id: 'ab'.repeat(32), name: 'f', size: 1, chunkSize: 1024, chunks: ['cd'.repeat(32)] };
    await registryOverHttp(url, undefined).register('/d/f', manifest);
    expect(requests).toEqual([{ method: 'POST', url: '/shares/verified', body: { path: '/d/f', manifest } }]);
  });

  it('gives Download its live sources as peerId@host:port', async () => {
    const [a, b] = [memorySigner().peerId, memorySigner().peerId];
    const seen: string[] = [];
    const url = await serve((req, res) => {
      seen.push(req.url ?? '');
      res.setHeader('content-type', 'application/json');
      const sources = [
        { peerId: a, filesAddress: '127.0.0.5:7871', name: 'f', size: 1, state: 'alive' },
        { peerId: b, filesAddress: '127.0.0.6:7871', name: 'f', size: 1, state: 'suspected' },
      ];
      res.end(JSON.stringify({ fileId: 'x', sources }));
    });
    const fileId = 'ab'.repeat(32);
    await expect(sourcesOverHttp(url).sourcesFor(fileId)).resolves.toEqual([`${a}@127.0.0.5:7871`]);
    expect(seen).toEqual([`/sources/${fileId}`]);
  });

  it('with a FirewalledSeen, lists the firewalled holders after the live ones and remembers them until listed alive', async () => {
    const [a, b] = [memorySigner().peerId, memorySigner().peerId];
    let bAlive = false;
    const url = await serve((_req, res) => {
      res.setHeader('content-type', 'application/json');
      const alive = { peerId: a, filesAddress: '127.0.0.5:7871', name: 'f', size: 1, state: 'alive' };
      const hidden = { peerId: b, filesAddress: '10.0.0.9:7871', name: 'f', size: 1, state: 'alive' };
      res.end(
        JSON.stringify(
          bAlive
            ? { fileId: 'x', sources: [alive, hidden], firewalled: [] }
            : { fileId: 'x', sources: [alive], firewalled: [{ ...hidden, firewalled: true }] },
        ),
      );
    });
    const fileId = 'ab'.repeat(32);
    const seen = new FirewalledSeen();
    await expect(sourcesOverHttp(url, seen).sourcesFor(fileId)).resolves.toEqual([
      `${a}@127.0.0.5:7871`,
      `${b}@10.0.0.9:7871`,
    ]);
    expect([seen.has(a), seen.has(b)]).toEqual([false, true]);
    // Without one, the firewalled holders are left out (nothing could ask them to connect back).
    await expect(sourcesOverHttp(url).sourcesFor(fileId)).resolves.toEqual([`${a}@127.0.0.5:7871`]);
    bAlive = true;
    await sourcesOverHttp(url, seen).sourcesFor(fileId);
    expect(seen.has(b)).toBe(false);
  });

  it("fails with the service's own error as it was sent, or UNAVAILABLE when the answer is not JSON", async () => {
    const refusing = await serve((_req, res) =>
      res
        .writeHead(401, { 'content-type': 'application/json' })
        .end('{"error":{"code":"UNAUTHORIZED","message":"token"}}'),
    );
    await expect(registryOverHttp(refusing, undefined).register('/tmp/x', {} as never)).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      message: 'token',
    });
    const garbage = await serve((_req, res) => res.end('<html>'));
    await expect(filesFeedOverHttp(garbage).changesSince(undefined)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });
});
