/**
 * PUSH in split mode (`peershare service NAME`, five processes on one host of the test bed,
 * test/support/testbed.ts), with a holder behind a NAT that nobody can dial.
 * - The downloader split: the holder's connect-back arrives at the Files process while the
 *   download waits in the Download process, so Download asks its File Management to splice it
 *   over (an upgrade on the local port) and has its Search send the signed Push (POST /push).
 *   Files only the NAT'd host holds are downloaded byte for byte, through the Download API and
 *   with `get --name`.
 * - The holder split: the Push reaches its Search process, which checks the requester against
 *   Fetch's GET /peers and has its File Management dial the requester and serve it
 *   (POST /connect-backs).
 * Either way the downloader opens no connection to the NAT'd host's address but to its Fetch port
 * (the dial-backs it asks for), counted at the downloader's host with nftables.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SERVICE_NAMES } from '../../src/peer/wiring.ts';
import { tempDir } from '../support/temp.ts';
import { canCreateHosts, createTestbed, type TestHost } from '../support/testbed.ts';

const FILES_PORT = 7871;
const SEARCH_API_PORT = 7873;
const FETCH_PORT = 7874;
const DOWNLOAD_API = 'http://127.0.0.1:7875';
const POLL = { timeout: 60_000, interval: 250 };

/** GET a local API of the peer on `host` (plaintext: this host's caller), parsed. */
async function api<T>(host: TestHost, port: number, path: string): Promise<T> {
  return JSON.parse((await host.exec('curl', ['-s', `http://${host.ip}:${port}${path}`])).stdout) as T;
}

/** Count, at `host`, the connections it opens to `target` (SYN without ACK) on any port but Fetch's. */
async function watchSyns(host: TestHost, target: string): Promise<void> {
  await host.exec('nft', ['add', 'table', 'ip', 'watch']);
  await host.exec('nft', ['add', 'chain', 'ip', 'watch', 'out', '{ type filter hook output priority 0 ; }']);
  await host.exec('nft', [
    ...['add', 'rule', 'ip', 'watch', 'out', 'ip', 'daddr', target],
    ...['tcp', 'flags', '&', '(syn|ack)', '==', 'syn', 'tcp', 'dport', '!=', String(FETCH_PORT), 'counter'],
  ]);
}

async function synsToOtherPorts(host: TestHost): Promise<number> {
  const { stdout } = await host.exec('nft', ['list', 'chain', 'ip', 'watch', 'out']);
  return Number(/counter packets (\d+)/.exec(stdout)?.[1] ?? NaN);
}

interface Sources {
  sources: Array<{ peerId: string }>;
  firewalled?: Array<{ peerId: string }>;
}

describe.skipIf(!canCreateHosts)('PUSH in split mode', () => {
  it("a peer split into five processes downloads a file only a NAT'd holder has: File Management splices the holder's connect-back to Download; the holder is never dialled", async () => {
    const bed = await createTestbed(3, undefined, { behindNat: [2] });
    const [first, split, natted] = bed.hosts as [TestHost, TestHost, TestHost];
    const interval = ['--fetch-interval', '200'];
    await first.startPeer(['start', '--host', first.ip, '--data', tempDir(), ...interval]);
    const splitData = join(tempDir(), 'data');
    await Promise.all(
      SERVICE_NAMES.map((name) =>
        split.startPeer([
          ...['service', name, '--host', split.ip, '--data', splitData, ...interval],
          ...(name === 'fetch' ? ['--join', first.ip] : []),
        ]),
      ),
    );
    await watchSyns(split, natted.publicIp);
    await natted.startPeer(['start', '--host', '0.0.0.0', '--data', tempDir(), '--join', first.ip, ...interval]);
    const hidden = (await natted.peershareJson<{ peerId: string }>(['status'])).peerId;

    // Files only the NAT'd host holds, listed by the split peer's Fetch as held by a firewalled peer.
    const dir = tempDir();
    const share = async (name: string, data: Buffer) => {
      writeFileSync(join(dir, name), data);
      const shared = await natted.peershare(['share', join(dir, name)]);
      expect(shared.code, shared.stderr).toBe(0);
      return /[0-9a-f]{64}/.exec(shared.stdout)![0];
    };
    const word = `derriere${randomBytes(4).toString('hex')}`;
    const data = randomBytes(2 * 1024 * 1024 + 11);
    const fileId = await share(`${word}.bin`, data);
    const otherWord = `lointain${randomBytes(4).toString('hex')}`;
    const other = randomBytes(1024 * 1024 + 3);
    await share(`${otherWord}.bin`, other);
    await expect
      .poll(
        async () => (await api<Sources>(split, FETCH_PORT, `/sources/${fileId}`)).firewalled?.map((s) => s.peerId),
        POLL,
      )
      .toEqual([hidden]);
    expect((await api<Sources>(split, FETCH_PORT, `/sources/${fileId}`)).sources).toEqual([]);

    // Through the Download API, naming no source: its directory (Fetch, over HTTP) lists the
    // firewalled holder, and every connection to it is a splice of a connect-back.
    const out = tempDir();
    const body = JSON.stringify({ fileId, name: `${word}.bin`, outDir: out });
    const queued = JSON.parse(
      (
        await split.exec('curl', [
          ...['-s', '-X', 'POST', '-H', 'content-type: application/json', '-d', body],
          `${DOWNLOAD_API}/downloads`,
        ])
      ).stdout,
    ) as { key: string };
    const stateOf = async () =>
      (await split.peershareJson<{ downloads: Array<{ key: string; state: string }> }>(['downloads'])).downloads.find(
        (d) => d.key === queued.key,
      )?.state;
    await expect.poll(stateOf, POLL).toBe('done');
    expect(readFileSync(join(out, `${word}.bin`)).equals(data)).toBe(true);

    // The split peer's Search sent the pushes, the holder acted on each, and every connection it
    // opened back was spliced to the Download process (none arrived unasked).
    const pushes = async (host: TestHost) =>
      (await api<{ pushes: { sent: number; delivered: number } }>(host, SEARCH_API_PORT, '/health')).pushes;
    const sent = (await pushes(split)).sent;
    expect(sent).toBeGreaterThanOrEqual(1);
    await expect.poll(async () => (await pushes(natted)).delivered, POLL).toBe(sent);
    const spliced = (await api<{ connectBacks: { taken: number; unasked: number } }>(split, FILES_PORT, '/health'))
      .connectBacks;
    expect(spliced.taken).toBeGreaterThanOrEqual(1);
    expect(spliced.taken).toBeLessThanOrEqual(sent);
    expect(await synsToOtherPorts(split)).toBe(0);

    // As a user would, with the CLI, for the other file: the split peer's Client counts the
    // firewalled holder (Fetch lists it as one; before, split mode refused it) and its Download
    // reaches it by PUSH again.
    const byName = tempDir();
    await expect
      .poll(async () => (await split.peershare(['get', '--name', otherWord, '--out', byName, '--wait'])).code, POLL)
      .toBe(0);
    expect(readFileSync(join(byName, `${otherWord}.bin`)).equals(other)).toBe(true);
    expect((await pushes(split)).sent).toBeGreaterThan(sent);
    expect(await synsToOtherPorts(split)).toBe(0);
  }, 240_000);

  it("a NAT'd holder split into five processes connects back: its Search decides on the push, its File Management dials the requester and serves it", async () => {
    const bed = await createTestbed(3, undefined, { behindNat: [2] });
    const [first, second, natted] = bed.hosts as [TestHost, TestHost, TestHost];
    const interval = ['--fetch-interval', '200'];
    await first.startPeer(['start', '--host', first.ip, '--data', tempDir(), ...interval]);
    await second.startPeer(['start', '--host', second.ip, '--data', tempDir(), '--join', first.ip, ...interval]);
    await watchSyns(second, natted.publicIp);
    const nattedData = join(tempDir(), 'data');
    await Promise.all(
      SERVICE_NAMES.map((name) =>
        natted.startPeer([
          ...['service', name, '--host', '0.0.0.0', '--data', nattedData, ...interval],
          ...(name === 'fetch' ? ['--join', first.ip] : []),
        ]),
      ),
    );
    const hidden = (await natted.peershareJson<{ peerId: string }>(['status'])).peerId;

    const dir = tempDir();
    const data = randomBytes(2 * 1024 * 1024 + 13);
    writeFileSync(join(dir, 'apart.bin'), data);
    const shared = await natted.peershare(['share', join(dir, 'apart.bin')]);
    expect(shared.code, shared.stderr).toBe(0);
    const fileId = /[0-9a-f]{64}/.exec(shared.stdout)![0];
    await expect
      .poll(
        async () => (await api<Sources>(second, FETCH_PORT, `/sources/${fileId}`)).firewalled?.map((s) => s.peerId),
        POLL,
      )
      .toEqual([hidden]);

    const out = tempDir();
    const body = JSON.stringify({ fileId, name: 'apart.bin', outDir: out });
    const queued = JSON.parse(
      (
        await second.exec('curl', [
          ...['-s', '-X', 'POST', '-H', 'content-type: application/json', '-d', body],
          `${DOWNLOAD_API}/downloads`,
        ])
      ).stdout,
    ) as { key: string };
    await expect
      .poll(
        async () =>
          (
            await second.peershareJson<{ downloads: Array<{ key: string; state: string }> }>(['downloads'])
          ).downloads.find((d) => d.key === queued.key)?.state,
        POLL,
      )
      .toBe('done');
    expect(readFileSync(join(out, 'apart.bin')).equals(data)).toBe(true);
    // The pushes reached the NAT'd peer's Search process, and the ranges came over connections its
    // File Management opened: the downloader dialled nothing there but the Fetch port.
    const delivered = (await api<{ pushes: { delivered: number } }>(natted, SEARCH_API_PORT, '/health')).pushes
      .delivered;
    expect(delivered).toBeGreaterThanOrEqual(1);
    expect(await synsToOtherPorts(second)).toBe(0);
  }, 240_000);
});
