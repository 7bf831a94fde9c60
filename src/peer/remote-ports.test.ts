import type { RequestListener } from 'node:http';
import { describe, expect, it } from 'vitest';
import { stubService } from '../../test/support/stub-service.ts';
import { memorySigner } from '../shared/keys.ts';
import { filesFeedOverHttp, registryOverHttp, sourcesOverHttp } from './remote-ports.ts';

const serve = async (handler: RequestListener): Promise<string> => (await stubService(handler)).url;

describe("the split-mode ports over this peer's own services", () => {
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
