import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_PORTS, loadConfig } from './config.ts';
import { PeershareError } from './errors.ts';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'peershare-config-'));
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

describe('configuration', () => {
  it('uses the documented defaults', () => {
    const config = loadConfig({ flags: { dataDir: tempDir() } });
    expect(config.host).toBe('127.0.0.1');
    expect(config.filesPort).toBe(DEFAULT_PORTS.filesPort);
    expect(config.chunkSize).toBe(1024 * 1024);
  });

  it('takes flags over environment over config file over defaults', () => {
    const dataDir = tempDir();
    writeFileSync(
      join(dataDir, 'config.json'),
      JSON.stringify({ host: '127.0.0.3', filesPort: 9001, chunkSize: '64KiB' }),
    );
    const fileOnly = loadConfig({ flags: { dataDir } });
    expect([fileOnly.host, fileOnly.filesPort, fileOnly.chunkSize]).toEqual(['127.0.0.3', 9001, 65536]);

    const withEnv = loadConfig({
      flags: { dataDir },
      env: { PEERSHARE_HOST: '127.0.0.4', PEERSHARE_FILES_PORT: '9002' },
    });
    expect([withEnv.host, withEnv.filesPort]).toEqual(['127.0.0.4', 9002]);

    const withFlags = loadConfig({ flags: { dataDir, host: '127.0.0.5' }, env: { PEERSHARE_HOST: '127.0.0.4' } });
    expect(withFlags.host).toBe('127.0.0.5');
  });

  it('reads the data directory from the environment and an explicit config file', () => {
    const dataDir = tempDir();
    const file = join(tempDir(), 'peer.json');
    writeFileSync(file, JSON.stringify({ logLevel: 'debug' }));
    const config = loadConfig({ env: { PEERSHARE_DATA: dataDir, PEERSHARE_CONFIG: file } });
    expect(config.dataDir).toBe(dataDir);
    expect(config.logLevel).toBe('debug');
  });

  it.each([
    [
      { flags: { filesPort: '70000' } },
      /^invalid filesPort \(--files-port\): expected an integer from 0 to 65535, got "70000"$/,
    ],
    [{ env: { PEERSHARE_HOST: 'example.com' } }, /^invalid host \(PEERSHARE_HOST\): expected an IPv4 or IPv6 address/],
    [{ flags: { chunkSize: '3GiB' } }, /^invalid chunkSize \(--chunk-size\)/],
    [{ flags: { logLevel: 'loud' } }, /^invalid logLevel \(--log-level\): expected one of fatal, error/],
  ])('rejects a bad value with a one-line error naming the setting (%o)', (sources, message) => {
    const err = errorOf(() =>
      loadConfig({ ...sources, flags: { dataDir: tempDir(), ...(sources as { flags?: object }).flags } }),
    );
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toMatch(message);
    expect(err.message).not.toContain('\n');
  });

  it('rejects a config file that is not JSON or names an unknown setting', () => {
    const dataDir = tempDir();
    writeFileSync(join(dataDir, 'config.json'), '{ host: ');
    expect(errorOf(() => loadConfig({ flags: { dataDir } })).message).toMatch(/config file .* is not valid JSON/);
    writeFileSync(join(dataDir, 'config.json'), JSON.stringify({ hots: '127.0.0.2' }));
    expect(errorOf(() => loadConfig({ flags: { dataDir } })).message).toMatch(/unknown setting "hots"/);
  });

  it('reads search neighbours as comma-separated host[:port], a missing port being the Search port', () => {
    const config = loadConfig({ flags: { dataDir: tempDir(), neighbours: '127.0.0.2, 127.0.0.3:9000,[::1]' } });
    expect(config.neighbours).toEqual(['127.0.0.2:7872', '127.0.0.3:9000', '[::1]:7872']);
    expect(loadConfig({ flags: { dataDir: tempDir() } })).toMatchObject({
      neighbours: [],
      maxLinks: 8,
      searchTtl: 7,
      searchTimeout: 3000,
    });
    expect(errorOf(() => loadConfig({ flags: { dataDir: tempDir(), neighbours: 'a:99999' } })).message).toMatch(
      /^invalid neighbours \(--neighbours\)/,
    );
  });

  it('reads the addresses to advertise as IP addresses (v4, v6) or host names, in order, and refuses a wildcard or a bad value', () => {
    const advertise = (value: unknown) => loadConfig({ flags: { dataDir: tempDir(), advertise: value } }).advertise;
    expect(loadConfig({ flags: { dataDir: tempDir() } }).advertise).toEqual([]);
    expect([advertise('192.0.2.7'), advertise('[2001:db8::7]'), advertise('Peer.Example.org')]).toEqual([
      ['192.0.2.7'],
      ['2001:db8::7'],
      ['peer.example.org'],
    ]);
    expect(errorOf(() => advertise('0.0.0.0')).message).toMatch(/^invalid advertise \(--advertise\).*wildcard/);
    expect(errorOf(() => advertise('::')).message).toMatch(/wildcard/);
    expect(errorOf(() => advertise(['192.0.2.7', '[::]'])).message).toMatch(/wildcard/);
    expect(errorOf(() => advertise('peer.example.org:7874')).message).toMatch(/^invalid advertise/);
    expect(errorOf(() => advertise('192.0.2.7, bad_name')).message).toMatch(/^invalid advertise.*got "bad_name"/);
  });

  it('reads --advertise repeated, comma-separated, from the environment and from the config file as a list', () => {
    expect(
      loadConfig({ flags: { dataDir: tempDir(), advertise: ['192.0.2.7', '2001:db8::7,peer.example.org'] } }).advertise,
    ).toEqual(['192.0.2.7', '2001:db8::7', 'peer.example.org']);
    expect(
      loadConfig({ flags: { dataDir: tempDir() }, env: { PEERSHARE_ADVERTISE: '192.0.2.7,[2001:db8::7]' } }).advertise,
    ).toEqual(['192.0.2.7', '2001:db8::7']);
    const dataDir = tempDir();
    writeFileSync(join(dataDir, 'config.json'), JSON.stringify({ advertise: ['198.51.100.1', '2001:db8::1'] }));
    expect(loadConfig({ flags: { dataDir } }).advertise).toEqual(['198.51.100.1', '2001:db8::1']);
    writeFileSync(join(dataDir, 'config.json'), JSON.stringify({ advertise: [7] }));
    expect(errorOf(() => loadConfig({ flags: { dataDir } })).message).toMatch(
      /^invalid advertise \(config file setting "advertise"\)/,
    );
  });

  it('advertises at most 8 addresses, each once, and loopback ones only among loopback ones', () => {
    const advertise = (value: unknown) => loadConfig({ flags: { dataDir: tempDir(), advertise: value } }).advertise;
    const eight = Array.from({ length: 8 }, (_, i) => `192.0.2.${i + 1}`);
    expect(advertise(eight)).toEqual(eight);
    expect(errorOf(() => advertise([...eight, '192.0.2.9'])).message).toMatch(/at most 8 addresses/);
    expect(errorOf(() => advertise(['192.0.2.1', '[2001:db8::1]', '192.0.2.1'])).message).toMatch(
      /"192.0.2.1" is given twice/,
    );
    expect(advertise(['127.0.0.5', '127.0.0.6', '::1'])).toEqual(['127.0.0.5', '127.0.0.6', '::1']);
    expect(errorOf(() => advertise(['192.0.2.1', '127.0.0.5'])).message).toMatch(
      /loopback address \(127.0.0.5\) cannot be advertised beside others/,
    );
  });

  it('reads allowedHosts as comma-separated host names, lowercased, and refuses ports and garbage', () => {
    const config = loadConfig({ flags: { dataDir: tempDir(), allowedHosts: ['Peer.Example.org, nas.local', 'box'] } });
    expect(config.allowedHosts).toEqual(['peer.example.org', 'nas.local', 'box']);
    expect(loadConfig({ flags: { dataDir: tempDir() } }).allowedHosts).toEqual([]);
    for (const bad of ['evil.example:80', 'a b', 'http://x', '-x.org']) {
      expect(errorOf(() => loadConfig({ flags: { dataDir: tempDir(), allowedHosts: bad } })).message).toMatch(
        /^invalid allowedHosts \(--allowed-hosts\)/,
      );
    }
  });
});
