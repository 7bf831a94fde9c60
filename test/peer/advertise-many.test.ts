/**
 * A peer that advertises several addresses (`--advertise` repeated), on separate hosts (network
 * namespaces of test/support/testbed.ts): the first address it lists is one nobody holds (an
 * unused IPv4 address of the test bed's network, so a dial there goes unanswered), the second its
 * own IPv6 address. The other peers learn its record from gossip or its announce, probe the
 * addresses in order, and verify it at the second; they then dial it only there: its Search
 * links, and the ranges of a file it shares, found by name and downloaded by another host.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../support/temp.ts';
import { canCreateHosts, createTestbed, type TestHost } from '../support/testbed.ts';

const POLL = { timeout: 60_000, interval: 250 };
/** The Client API of a peer bound to `::` listens on ::1 (src/peer/context.ts apiHostOf). */
const V6_API = ['--api', 'http://[::1]:7870'];

type AddressSet = { files: string; search: string; fetch: string };
interface Peers {
  peers: Array<{ peerId: string; state: string; addresses: AddressSet; advertised?: AddressSet[] }>;
}
interface Status {
  peerId: string;
  reachability: { state: string; advertised?: string; advertisedAll?: string[] } | null;
}

/** The set a peer on `host`'s own table dials `peerId` at, and every set it lists, once it holds it alive. */
async function viewOf(host: TestHost, peerId: string) {
  const { peers } = await host.peershareJson<Peers>(['peers']);
  const peer = peers.find((p) => p.peerId === peerId && p.state === 'alive');
  return peer && { dialled: peer.addresses.files, listed: peer.advertised?.map((set) => set.files) };
}

describe.skipIf(!canCreateHosts)('a peer advertising several addresses', () => {
  it('is verified, searched and downloaded from at its second address (IPv6) when nobody answers at its first', async () => {
    const bed = await createTestbed(3);
    const [bootstrap, many, seeker] = bed.hosts as [TestHost, TestHost, TestHost];
    // An address of the test bed's network no host holds: probes there go unanswered.
    const nobody = many.ip.replace(/\.\d+$/, '.250');
    const interval = ['--fetch-interval', '200'];
    await bootstrap.startPeer(['start', '--host', bootstrap.ip, '--data', tempDir(), ...interval]);
    await many.startPeer([
      'start',
      '--host',
      '::',
      '--advertise',
      nobody,
      '--advertise',
      many.ip6,
      '--data',
      tempDir(),
      '--join',
      bootstrap.ip,
      ...interval,
    ]);
    await seeker.startPeer(['start', '--host', seeker.ip, '--data', tempDir(), '--join', bootstrap.ip, ...interval]);

    // Its own status lists both, in order.
    const status = await many.peershareJson<Status>(['status', ...V6_API]);
    expect(status.reachability).toMatchObject({
      state: 'configured',
      advertisedAll: [`${nobody}:7874`, `[${many.ip6}]:7874`],
    });

    // The bootstrap (its announce) and the seeker (gossip from the bootstrap) each verify it at
    // the second address: they dial its files port there, and list both addresses.
    const expected = { dialled: `[${many.ip6}]:7871`, listed: [`${nobody}:7871`, `[${many.ip6}]:7871`] };
    for (const host of [bootstrap, seeker])
      await expect.poll(() => viewOf(host, status.peerId), POLL).toEqual(expected);
    const listing = await seeker.peershare(['peers']);
    expect(listing.stdout).toContain(`[${many.ip6}]:7871 (advertises ${nobody}:7871, [${many.ip6}]:7871)`);

    // A file it shares is found by name and downloaded by the seeker, from its IPv6 address.
    const dir = tempDir();
    const data = randomBytes(1024 * 1024 + 5);
    const word = `astrolabe${randomBytes(4).toString('hex')}`;
    writeFileSync(join(dir, `${word}.bin`), data);
    const shared = await many.peershare(['share', join(dir, `${word}.bin`), ...V6_API]);
    expect(shared.code, shared.stderr).toBe(0);
    const out = tempDir();
    await expect
      .poll(async () => (await seeker.peershare(['get', '--name', word, '--out', out, '--wait'])).code, POLL)
      .toBe(0);
    expect(readFileSync(join(out, `${word}.bin`)).equals(data)).toBe(true);
    // The seeker's Fetch lists it as the file's source at its IPv6 files address: where the ranges came from (nobody holds the other).
    const fileId = /[0-9a-f]{64}/.exec(shared.stdout)![0];
    const { sources } = JSON.parse(
      (await seeker.exec('curl', ['-s', `http://${seeker.ip}:7874/sources/${fileId}`])).stdout,
    ) as { sources: Array<{ peerId: string; filesAddress: string }> };
    expect(sources.map((s) => `${s.peerId}@${s.filesAddress}`)).toEqual([`${status.peerId}@[${many.ip6}]:7871`]);
  }, 180_000);
});
