import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createHttpApp } from '../../../shared/http-server.ts';
import { silentLogger } from '../../../shared/logging.ts';
import { registerWebUi, webUiBuilt } from './web-ui.ts';

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'peershare-web-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function appServing(dist: string) {
  const app = await createHttpApp({ service: 'client', logger: silentLogger() });
  registerWebUi(app, dist);
  return app;
}

describe('the web UI routes', () => {
  it('serve index.html at / and hashed assets, each with its type and caching', async () => {
    const dist = tempDir();
    mkdirSync(join(dist, 'assets'));
    writeFileSync(join(dist, 'index.html'), '<!doctype html><title>peershare</title>');
    writeFileSync(join(dist, 'assets', 'index-B3x_9kQa.js'), 'console.log(1)');
    expect(webUiBuilt(dist)).toBe(true);
    const app = await appServing(dist);

    const index = await app.inject('/');
    expect(index.statusCode).toBe(200);
    expect(index.body).toContain('<title>peershare</title>');
    expect(index.headers).toMatchObject({
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-cache',
      'x-frame-options': 'DENY',
    });
    expect(index.headers['content-security-policy']).toContain("script-src 'self'");

    const script = await app.inject('/assets/index-B3x_9kQa.js');
    expect(script.statusCode).toBe(200);
    expect(script.body).toBe('console.log(1)');
    expect(script.headers).toMatchObject({
      'content-type': 'text/javascript; charset=utf-8',
      'cache-control': 'public, max-age=31536000, immutable',
      'content-length': '14',
    });

    const again = await app.inject({ url: '/', headers: { 'if-none-match': String(index.headers.etag) } });
    expect(again.statusCode).toBe(304);
    const head = await app.inject({ method: 'HEAD', url: '/assets/index-B3x_9kQa.js' });
    expect(head.statusCode).toBe(200);
    expect(head.headers['content-length']).toBe('14');
    await app.close();
  });

  it('serve nothing outside web/dist, escaped or linked', async () => {
    const root = tempDir();
    const dist = join(root, 'dist');
    mkdirSync(join(dist, 'assets'), { recursive: true });
    writeFileSync(join(dist, 'index.html'), 'ui');
    writeFileSync(join(root, 'secret.txt'), 'TOP-SECRET-CONTENT');
    symlinkSync(join(root, 'secret.txt'), join(dist, 'assets', 'link-abcdefgh.txt'));
    const app = await appServing(dist);
    for (const url of [
      '/assets/../../secret.txt',
      '/assets/%2e%2e/%2e%2e/secret.txt',
      '/assets/..%2f..%2fsecret.txt',
      '/assets/link-abcdefgh.txt',
      '/assets/',
      '/secret.txt',
      '/index.html/../../secret.txt',
    ]) {
      const res = await app.inject(url);
      expect(res.statusCode, url).toBe(404);
      expect(res.body, url).not.toContain('TOP-SECRET-CONTENT');
    }
    await app.close();
  });

  it('answer / with how to build the UI when it was never built', async () => {
    const dist = join(tempDir(), 'no-dist');
    expect(webUiBuilt(dist)).toBe(false);
    const app = await appServing(dist);
    const res = await app.inject('/');
    expect(res.statusCode).toBe(503);
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(res.body).toContain('npm run build:web');
    expect((await app.inject('/assets/index-B3x_9kQa.js')).statusCode).toBe(404);
    await app.close();
  });
});
