import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../shared/config.ts';
import type { PeershareError } from '../shared/errors.ts';
import { advertisedAddresses, apiHostOf } from './context.ts';

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
    expect(err.message).toMatch(
      /^invalid apiHost \(--api-host\): expected a loopback address .*API token in clear.*ssh -L/,
    );
  });
});

describe('what this peer advertises', () => {
  it('takes the port a router forwards to a service, at the advertised addresses only', () => {
    const config = loadConfig({
      flags: { dataDir: tempDir(), advertise: ['192.0.2.7', '2001:db8::7'], advertiseFilesPort: '17871' },
    });
    expect([config.advertiseFilesPort, config.advertiseSearchPort, config.advertiseFetchPort]).toEqual([
      17871,
      undefined,
      undefined,
    ]);
    // Each advertised address at the forwarded port; the other services keep theirs.
    expect(advertisedAddresses(config, config.filesPort, config.advertiseFilesPort)).toEqual([
      '192.0.2.7:17871',
      '[2001:db8::7]:17871',
    ]);
    expect(advertisedAddresses(config, config.searchPort, config.advertiseSearchPort)).toEqual([
      '192.0.2.7:7872',
      '[2001:db8::7]:7872',
    ]);
    expect(
      errorOf(() => loadConfig({ flags: { dataDir: tempDir(), advertise: '192.0.2.7', advertiseFetchPort: '0' } }))
        .message,
    ).toMatch(/^invalid advertiseFetchPort \(--advertise-fetch-port\): expected an integer from 1 to 65535/);
    expect(errorOf(() => loadConfig({ flags: { dataDir: tempDir(), advertiseSearchPort: '17872' } })).message).toBe(
      '--advertise-search-port is the port other peers dial at the --advertise addresses: give --advertise too',
    );
  });
});
