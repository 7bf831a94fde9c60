/**
 * Churn on separate hosts (issue 14, scenario 1): 12 hosts, one behind a NAT; 30 downloads run
 * while 12 times a random host's peer is killed (SIGKILL) and started again on its data folder.
 * Every download completes with the right bytes, those of files only the NAT'd host holds (by
 * PUSH) included. Kills and rounds are counted, never minutes: each kill waits until the killed
 * peer answers again, and the downloads are capped (16 KiB/s per peer) until the last kill, so
 * that they are running when the kills begin (checked) and, on a machine not loaded, through
 * them; then the caps are lifted while they run.
 */
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hostMetric } from '../support/host-metrics.ts';
import type { PeerProcess } from '../support/peer-process.ts';
import { tempDir } from '../support/temp.ts';
import { canCreateHosts, createTestbed } from '../support/testbed.ts';

const HOSTS = 12;
const NATTED = HOSTS - 1;
const KILLS = 12;
const FILES = 10;
/** Files 0-6 are held by two reachable hosts each, files 7-9 by the NAT'd host alone. */
const NAT_ONLY = [7, 8, 9];
const DOWNLOADS_PER_FILE = 3;
const POLL = { timeout: 90_000, interval: 250 };
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

interface Downloads {
  downloads: Array<{ key: string; fileId: string; state: string; finalPath?: string; error?: string }>;
}

/** A small deterministic generator: which host dies next is the same on every run. */
function picker(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
}

describe.skipIf(!canCreateHosts)('churn on 12 hosts, one behind a NAT (issue 14, scenario 1)', () => {
  it(
    "completes 30 downloads with the right bytes while 12 peers are killed and restarted, files only the NAT'd host holds included",
    // Each step waits on an event or a count; the cap is only a backstop. The test runs ~110 peer
    // and CLI processes one after another, and under stress-ng --cpu 2 with real-hosts (12 more
    // hosts) beside it that took longer than 7 minutes (all 30 downloads done, 2026-12-05).
    { timeout: 900_000 },
    async () => {
      const bed = await createTestbed(HOSTS, undefined, { behindNat: [NATTED] });
      const hosts = bed.hosts;
      const first = hosts[0]!;
      const common = ['--fetch-interval', '200', '--max-download-rate', '16KiB'];
      const argsOf = hosts.map((h, i) => [
        'start',
        '--host',
        i === NATTED ? '0.0.0.0' : h.ip,
        '--data',
        tempDir(),
        ...(i > 0 ? ['--join', first.ip] : []),
        ...common,
      ]);
      const running: PeerProcess[] = [];
      for (const [i, h] of hosts.entries()) running[i] = await h.startPeer(argsOf[i]!);

      // The files: two reachable holders each, or the NAT'd host alone.
      const dir = tempDir();
      const files: Array<{ id: string; data: Buffer; holders: number[] }> = [];
      for (let f = 0; f < FILES; f++) {
        const data = randomBytes(1024 * 1024 + f);
        const path = join(dir, `churn-${f}.bin`);
        writeFileSync(path, data);
        const holders = NAT_ONLY.includes(f) ? [NATTED] : [(2 * f) % NATTED, (2 * f + 1) % NATTED];
        let id = '';
        for (const h of holders) {
          const shared = await hosts[h]!.peershare(['share', path]);
          expect(shared.code, shared.stderr).toBe(0);
          id = /[0-9a-f]{64}/.exec(shared.stdout)![0];
        }
        files.push({ id, data, holders });
      }

      // 30 downloads, each by a reachable host that does not hold the file, queued once the
      // downloader's Fetch lists a holder (the NAT'd host's files: as a firewalled holder).
      const queued: Array<{ host: number; file: number }> = [];
      for (const [f, file] of files.entries()) {
        const downloaders = [...Array(NATTED).keys()]
          .filter((h) => !file.holders.includes(h))
          .filter((_, k) => k % 3 === f % 3)
          .slice(0, DOWNLOADS_PER_FILE);
        for (const h of downloaders) {
          await expect.poll(async () => (await hosts[h]!.peershare(['get', file.id])).code, POLL).toBe(0);
          queued.push({ host: h, file: f });
        }
      }
      expect(queued).toHaveLength(FILES * DOWNLOADS_PER_FILE);
      const stateOf = async (host: number, fileId: string) =>
        (await hosts[host]!.peershareJson<Downloads>(['downloads'])).downloads.find((d) => d.fileId === fileId);

      // One `downloads` call per host, all at once: quick enough that the check sees the queue as it is.
      const unfinished = async () => {
        const byHost = [...new Set(queued.map((q) => q.host))];
        const lists = await Promise.all(
          byHost.map(async (h) => [h, (await hosts[h]!.peershareJson<Downloads>(['downloads'])).downloads] as const),
        );
        const of = new Map(lists);
        return queued.filter((q) => of.get(q.host)!.find((d) => d.fileId === files[q.file]!.id)?.state !== 'done')
          .length;
      };
      // The kills begin while downloads run: the last one was queued just now and cannot have
      // finished at 16 KiB/s. (Checked here, not after the kills: under stress-ng the twelve
      // restarts once took longer than every capped download, and that says nothing of the peers.)
      const runningAtFirstKill = await unfinished();
      expect(runningAtFirstKill).toBeGreaterThan(0);

      // The kills: a random host each time (the NAT'd one included), SIGKILL, then the same peer
      // again on its data folder; the next kill once it answers and knows a live peer again.
      const next = picker(20261204);
      const killed: string[] = [];
      for (let k = 0; k < KILLS; k++) {
        const i = next(HOSTS);
        const victim = running[i]!;
        const gone = once(victim.child, 'exit');
        victim.child.kill('SIGKILL');
        await gone;
        running[i] = await hosts[i]!.startPeer(argsOf[i]!);
        await expect
          .poll(() => hostMetric(hosts[i]!, 'peershare_fetch_peers', { state: 'alive' }), POLL)
          .toBeGreaterThan(0);
        killed.push(hosts[i]!.name);
      }
      expect(killed).toHaveLength(KILLS);
      console.log(
        `downloads unfinished: ${runningAtFirstKill} of ${queued.length} at the first kill, ${await unfinished()} after the last`,
      );

      // The caps lifted while they run (kept in each peer's config file): every download completes.
      for (const h of hosts) expect((await h.peershare(['limits', '--download', 'none'])).code).toBe(0);
      for (const q of queued) {
        const file = files[q.file]!;
        await expect
          .poll(
            async () => ['done', 'failed', 'cancelled'].includes((await stateOf(q.host, file.id))?.state ?? ''),
            POLL,
          )
          .toBe(true);
        const done = (await stateOf(q.host, file.id))!;
        expect(
          { state: done.state, error: done.error },
          `${hosts[q.host]!.name} getting churn-${q.file}.bin (held by ${file.holders.map((h) => hosts[h]!.name).join(', ')})`,
        ).toEqual({ state: 'done', error: undefined });
        expect(sha256(readFileSync(done.finalPath!)), `${hosts[q.host]!.name} got churn-${q.file}.bin`).toBe(
          sha256(file.data),
        );
      }
    },
  );
});
