/**
 * Trust on first use of a join address, as a user meets it (real `peershare` processes): `peershare
 * peers` shows the id the join address was pinned to; after another key takes that address, the
 * peer refuses it and `peers` says so with both ids; `peershare peers forget ID` accepts the new one.
 */
import { once } from 'node:events';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PORTS } from '../../src/shared/config.ts';
import { nextLoopback } from '../support/loopback.ts';
import { spawnPeer } from '../support/peer-process.ts';
import { runCommand } from '../support/run-command.ts';
import { tempDir } from '../support/temp.ts';

interface PeersJson {
  peers: Array<{ peerId: string; state: string }>;
  joinPins: Array<{ address: string; peerId: string; refused?: { peerId: string } }>;
}

describe('peershare peers: pinned join addresses', () => {
  it(
    'shows the pin, reports a changed key with both ids, and forgets the pin on request',
    { timeout: 90_000 },
    async () => {
      const [hostA, hostC] = [nextLoopback(), nextLoopback()];
      const start = (host: string, data: string, ...more: string[]) =>
        spawnPeer(['start', '--host', host, '--data', data, '--fetch-interval', '100', ...more]);
      const status = async (host: string) =>
        JSON.parse((await runCommand(['status', '--json', '--api', host])).stdout) as { peerId: string };
      const peersOf = async (host: string) =>
        JSON.parse((await runCommand(['peers', '--json', '--api', host])).stdout) as PeersJson;
      const joinAddress = `${hostA}:${DEFAULT_PORTS.fetchPort}`;

      const a = await start(hostA, join(tempDir(), 'a'));
      await start(hostC, join(tempDir(), 'c'), '--join', hostA);
      const first = (await status(hostA)).peerId;
      await expect
        .poll(async () => (await peersOf(hostC)).joinPins, { timeout: 20_000, interval: 200 })
        .toEqual([{ address: joinAddress, peerId: first, pinnedAt: expect.any(Number) }]);

      // Another peer, with a key of its own, takes A's address.
      a.child.kill('SIGKILL');
      await once(a.child, 'exit');
      await start(hostA, join(tempDir(), 'a2'));
      const second = (await status(hostA)).peerId;
      expect(second).not.toBe(first);
      await expect
        .poll(async () => (await peersOf(hostC)).joinPins[0]?.refused?.peerId, { timeout: 30_000, interval: 300 })
        .toBe(second);
      const text = await runCommand(['peers', '--api', hostC]);
      expect(text.stdout).toContain(`${joinAddress}  ${first}  REFUSED ${second}`);
      expect(text.stdout).toContain(`if you trust it: peershare peers forget ${first}`);
      expect((await peersOf(hostC)).peers.some((p) => p.peerId === second)).toBe(false);

      const forget = await runCommand(['peers', 'forget', first, '--api', hostC]);
      expect(forget).toMatchObject({
        code: 0,
        stdout: `forgot ${joinAddress} → ${first}; the next contact pins the id it proves\n`,
      });
      await expect
        .poll(async () => (await peersOf(hostC)).joinPins, { timeout: 20_000, interval: 200 })
        .toEqual([{ address: joinAddress, peerId: second, pinnedAt: expect.any(Number) }]);
      expect((await peersOf(hostC)).peers.find((p) => p.peerId === second)?.state).toBe('alive');
      expect(await runCommand(['peers', 'forget', first, '--api', hostC])).toMatchObject({
        code: 1,
        stdout: `no join address is pinned to ${first}\n`,
      });
    },
  );
});
