import { afterEach, describe, expect, it } from 'vitest';
import { createHttpApp, type HttpApp } from './http-server.ts';
import { silentLogger } from './logging.ts';
import { serveMetrics, ServiceMetrics } from './metrics.ts';

let app: HttpApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

/** A service app whose /metrics shows one counter, bound (as far as the guard knows) at `host`. */
async function serving(host: string, apiToken: string | undefined, count: { n: number }): Promise<HttpApp> {
  app = await createHttpApp({ service: 'test', logger: silentLogger() });
  const metrics = new ServiceMetrics('test', 'peer-1');
  metrics.counter('things_total', 'Things done.', () => count.n);
  metrics.gauge(
    'by_kind',
    'Things by kind.',
    async () => [
      [{ kind: 'a' }, 2],
      [{ kind: 'b' }, count.n],
    ],
    ['kind'],
  );
  serveMetrics(app, metrics, { host, apiToken });
  return app;
}

describe('ServiceMetrics and GET /metrics', () => {
  it('reads each series when scraped, under peershare_<service>_', async () => {
    const count = { n: 3 };
    const served = await serving('127.0.0.1', undefined, count);
    const first = await served.inject({ method: 'GET', url: '/metrics', headers: { host: '127.0.0.1' } });
    expect(first.statusCode).toBe(200);
    expect(first.body).toContain('peershare_test_things_total 3\n');
    expect(first.body).toContain('peershare_test_by_kind{kind="b"} 3\n');
    expect(first.body).toContain('peershare_test_info{peer_id="peer-1"} 1\n');
    count.n = 5;
    const second = await served.inject({ method: 'GET', url: '/metrics', headers: { host: '127.0.0.1' } });
    expect(second.body).toContain('peershare_test_things_total 5\n');
  });

  it('off loopback, asks for the API token as the admin routes do', async () => {
    const served = await serving('0.0.0.0', 'secret-token', { n: 1 });
    const without = await served.inject({ method: 'GET', url: '/metrics', headers: { host: '127.0.0.1' } });
    expect(without.statusCode).toBe(401);
    const withToken = await served.inject({
      method: 'GET',
      url: '/metrics',
      headers: { host: '127.0.0.1', authorization: 'Bearer secret-token' },
    });
    expect(withToken.statusCode).toBe(200);
  });

  it('refuses a page of another site', async () => {
    const served = await serving('127.0.0.1', undefined, { n: 1 });
    const res = await served.inject({
      method: 'GET',
      url: '/metrics',
      headers: { host: '127.0.0.1', 'sec-fetch-site': 'cross-site' },
    });
    expect(res.statusCode).toBe(403);
  });

  it('names every counter _total', () => {
    expect(() => new ServiceMetrics('test', 'p').counter('things', 'Things.', () => 1)).toThrow(/_total/);
  });
});
