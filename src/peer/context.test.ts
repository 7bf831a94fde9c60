import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../shared/config.ts';
import type { PeershareError } from '../shared/errors.ts';
import { apiHostOf } from './context.ts';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'peershare-context-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function errorOf(fn: () => unknown): PeershareError {
  try {
    fn();
  } catch (err) {
    return err as PeershareError;
  }
  throw new Error('expected an error');
}

describe('where the local APIs listen', () => {
  it('keeps the Client and Download APIs on loopback: a public --host does not move them, a public --api-host is refused', () => {
    const dataDir = tempDir();
    expect(apiHostOf(loadConfig({ flags: { dataDir } }))).toBe('127.0.0.1');
    expect(apiHostOf(loadConfig({ flags: { dataDir, host: '127.0.0.7' } }))).toBe('127.0.0.7');
    expect(apiHostOf(loadConfig({ flags: { dataDir, host: '0.0.0.0' } }))).toBe('127.0.0.1');
    expect(apiHostOf(loadConfig({ flags: { dataDir, host: '192.168.1.20' } }))).toBe('127.0.0.1');
    expect(apiHostOf(loadConfig({ flags: { dataDir, host: '::' } }))).toBe('::1');
    expect(apiHostOf(loadConfig({ flags: { dataDir, host: '0.0.0.0', apiHost: '127.0.0.9' } }))).toBe('127.0.0.9');
    const err = errorOf(() => loadConfig({ flags: { dataDir, host: '0.0.0.0', apiHost: '0.0.0.0' } }));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toMatch(/^invalid apiHost \(--api-host\): expected a loopback address .*API token in clear.*ssh -L/);
  });
});
