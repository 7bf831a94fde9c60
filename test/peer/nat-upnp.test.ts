/**
 * `--nat upnp` against a real UPnP router: a host behind a NAT whose router runs miniupnpd
 * (test/support/testbed.ts). The peer finds the router, has it forward the three peer ports,
 * and is then dialled back at the router's address like any reachable peer: it advertises that
 * address, the other hosts verify and list it, and a file it shares is downloaded through the
 * router. Stopped cleanly, it removes its mappings. Without --nat (real-hosts.test.ts) the same
 * host stays unreachable.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../support/temp.ts';
import { canCreateHosts, createTestbed, type TestHost } from '../support/testbed.ts';

const POLL = { timeout: 45_000, interval: 250 };

interface Peers {
  peers: Array<{ peerId: string; state: string; addresses: { files: string; search: string; fetch: string } }>;
}
interface Status {
  peerId: string;
  reachability: {
    state: string;
    address?: string;
    portMapping?: { state: string; externalIp?: string; ports?: number[]; reason?: string };
  } | null;
}

/** The DNAT rules miniupnpd wrote on the router in front of `host`. */
async function forwardedPorts(host: TestHost): Promise<number[]> {
  const router = host.ns.replace(/^ps-h/, 'ps-r');
  const { stdout } = await host.exec('ip', [
    'netns',
    'exec',
    router,
    'nft',
    'list',
    'chain',
    'inet',
    'filter',
    'prerouting_miniupnpd',
  ]);
  return [...stdout.matchAll(/dport (\d+) dnat/g)].map((m) => Number(m[1])).sort();
}

describe.skipIf(!canCreateHosts)('a peer behind a UPnP router (--nat upnp)', () => {
  it("has the router forward its peer ports, is dialled back at the router's address, serves a download through it, and unmaps at stop", async () => {
    const bed = await createTestbed(3, undefined, { behindNat: [2], upnp: true });
    const [first, second, natted] = bed.hosts as [TestHost, TestHost, TestHost];
    const interval = ['--fetch-interval', '200'];
    await first.startPeer(['start', '--host', first.ip, '--data', tempDir(), ...interval]);
    await second.startPeer(['start', '--host', second.ip, '--data', tempDir(), '--join', first.ip, ...interval]);
    const peer = await natted.startPeer([
      'start',
      '--host',
      '0.0.0.0',
      '--nat',
      'upnp',
      '--data',
      tempDir(),
      '--join',
      first.ip,
      ...interval,
    ]);

    // The router forwards the three peer ports to the host, and a dial-back there succeeds.
    const status = () => natted.peershareJson<Status>(['status']);
    await expect
      .poll(async () => (await status()).reachability?.portMapping, POLL)
      .toMatchObject({ state: 'mapped', externalIp: natted.publicIp, ports: [7871, 7872, 7874] });
    expect(await forwardedPorts(natted)).toEqual([7871, 7872, 7874]);
    await expect
      .poll(async () => (await status()).reachability, POLL)
      .toMatchObject({ state: 'reachable', address: natted.publicIp });
    const id = (await status()).peerId;

    // The others verify it at the router's address and list it alive.
    for (const host of [first, second]) {
      await expect
        .poll(async () => (await host.peershareJson<Peers>(['peers'])).peers.find((p) => p.peerId === id), POLL)
        .toMatchObject({ state: 'alive', addresses: { files: `${natted.publicIp}:7871` } });
    }

    // A file it shares is found and downloaded by another host, through the router.
    const word = `passerelle${randomBytes(4).toString('hex')}`;
    const dir = tempDir();
    const data = randomBytes(2 * 1024 * 1024 + 11);
    writeFileSync(join(dir, `${word}.bin`), data);
    expect((await natted.peershare(['share', join(dir, `${word}.bin`)])).code).toBe(0);
    const out = tempDir();
    await expect
      .poll(async () => (await second.peershare(['get', '--name', word, '--out', out, '--wait'])).code, POLL)
      .toBe(0);
    expect(readFileSync(join(out, `${word}.bin`)).equals(data)).toBe(true);

    // Stopped cleanly, it takes its mappings off the router.
    const exited = new Promise((resolve) => peer.child.once('exit', resolve));
    peer.child.kill('SIGTERM');
    await exited;
    expect(await forwardedPorts(natted)).toEqual([]);
  }, 180_000);
});
