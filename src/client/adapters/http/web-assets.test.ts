import { describe, expect, it } from 'vitest';
import { assetPath, cacheControlOf, contentTypeOf, etagOf, notModified } from './web-assets.ts';

describe('web UI asset rules', () => {
  it('maps the names Vite emits under assets/', () => {
    expect(assetPath('index-B3x_9kQa.js')).toBe('assets/index-B3x_9kQa.js');
    expect(assetPath('fonts/inter-Ab12Cd34.woff2')).toBe('assets/fonts/inter-Ab12Cd34.woff2');
  });

  it.each([
    ['..'],
    ['../index.html'],
    ['a/../../etc/passwd'],
    ['.'],
    ['.env'],
    ['a//b'],
    [''],
    ['a\\b'],
    ['a%2e%2e'],
    ['x\0.js'],
    ['/etc/passwd'],
    ['a/b/c/d/e.js'],
    ['a'.repeat(201)],
  ])('refuses %j', (wildcard) => {
    expect(assetPath(wildcard)).toBeUndefined();
  });

  it('names the content type from the extension', () => {
    expect(contentTypeOf('assets/index-abc.js')).toBe('text/javascript; charset=utf-8');
    expect(contentTypeOf('assets/index-abc.CSS')).toBe('text/css; charset=utf-8');
    expect(contentTypeOf('index.html')).toBe('text/html; charset=utf-8');
    expect(contentTypeOf('assets/blob')).toBe('application/octet-stream');
  });

  it('lets browsers keep hashed assets for good and revalidate the rest', () => {
    expect(cacheControlOf('assets/index-B3x_9kQa.js')).toBe('public, max-age=31536000, immutable');
    expect(cacheControlOf('index.html')).toBe('no-cache');
    expect(cacheControlOf('assets/logo.svg')).toBe('no-cache');
  });

  it('answers 304 to a matching validator, weak or strong, or *', () => {
    const etag = etagOf(1234, 1_700_000_000_123.4);
    expect(etag).toBe('W/"4d2-18bcfe5687b"');
    expect(notModified(etag, etag)).toBe(true);
    expect(notModified(`"x", ${etag.slice(2)}`, etag)).toBe(true);
    expect(notModified('*', etag)).toBe(true);
    expect(notModified('W/"4d2-0"', etag)).toBe(false);
    expect(notModified(undefined, etag)).toBe(false);
  });
});
