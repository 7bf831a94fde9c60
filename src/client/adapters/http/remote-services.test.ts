import { describe, expect, it } from 'vitest';
import { stubService } from '../../../../test/support/stub-service.ts';
import { downloadOverHttp, searchOverHttp } from './remote-services.ts';

/** A Download API stand-in that knows no download; `close` frees its port, where nothing then answers. */
function downloadApi(): Promise<{ url: string; close(): Promise<void> }> {
  return stubService((req, res) => {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code: 'NOT_FOUND', message: 'no download k' } }));
  });
}

describe("the Client's ports over this peer's other services", () => {
  it("pass a service's own errors on as they were sent", async () => {
    const api = await downloadApi();
    await expect(downloadOverHttp(api.url, undefined).get('k')).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: 'no download k',
    });
  });

  it('say which service of this peer does not answer, and how to start it, for every kind of call', async () => {
    const api = await downloadApi();
    await api.close();
    const { host } = new URL(api.url);
    const download = downloadOverHttp(api.url, undefined);
    const downloadDown = `this peer's download service does not answer at ${host} (ECONNREFUSED); start it with: peershare service download --host 127.0.0.1 (and the peer's --data)`;
    await expect(download.list(10)).rejects.toMatchObject({ code: 'UNAVAILABLE', message: downloadDown });
    await expect(download.watch(() => {})).rejects.toMatchObject({ message: downloadDown });
    await expect(searchOverHttp(api.url).search({ q: 'a' })).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      details: { service: 'search' },
    });
  });
});
