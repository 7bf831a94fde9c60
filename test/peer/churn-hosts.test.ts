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
import { atMost } from '../support/at-most.ts';
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
/** Processes started together (peers, CLI calls): enough to overlap their waits, few enough that none misses its deadline on a loaded machine. */
const TOGETHER = 4;
const ENDED = ['done', 'failed', 'cancelled'];
/** The backstop for every download to end once the caps are lifted (all of them at once: 90 s was one download's). */
const ENDED_POLL = { timeout: 300_000, interval: 250 };
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

interface Download {
  key: string;
  fileId: string;
  state: string;
  finalPath?: string;
  error?: string;
}
interface Downloads {
  downloads: Download[];
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
    // and CLI processes (a few at a time where they are independent), and under stress-ng --cpu 2
    // with real-hosts (12 more hosts) beside it that took longer than 7 minutes (all 30 downloads
    // done, 2026-12-05, before they ran a few at a time).
    { timeout: 900_000 },
    async () => {
      const bed = await createTestbed(HOSTS, undefined, { behindNat: [NATTED] });
      const hosts = bed.hosts;
      const first = hosts[0]!;
      // Rounds of 500 ms (a sixth of the default): each round is three TLS syncs per peer, and
      // twelve idle peers took 94 % of a core between them at 200 ms, 53 % at 500 ms (measured
      // 2026-12-05): CPU that the CLI calls and restarts here wait for on a 2-core machine.
      const common = ['--fetch-interval', '500', '--max-download-rate', '16KiB'];
      const argsOf = hosts.map((h, i) => [
        'start',
        '--host',
        i === NATTED ? '0.0.0.0' : h.ip,
        '--data',
        tempDir(),
        ...(i > 0 ? ['--join', first.ip] : []),
        ...common,
      ]);
      // The first, then the others that join it, a few at a time.
      const running: PeerProcess[] = [await first.startPeer(argsOf[0]!)];
      running.push(...(await atMost(TOGETHER, hosts.slice(1), (h, i) => h.startPeer(argsOf[i + 1]!))));

      // The files: two reachable holders each, or the NAT'd host alone.
      const dir = tempDir();
      const files = [...Array(FILES).keys()].map((f) => {
        const data = randomBytes(1024 * 1024 + f);
        const path = join(dir, `churn-${f}.bin`);
        writeFileSync(path, data);
        const holders = NAT_ONLY.includes(f) ? [NATTED] : [(2 * f) % NATTED, (2 * f + 1) % NATTED];
        return { id: '', path, data, holders };
      });
      const shares = files.flatMap((file) => file.holders.map((h) => ({ file, h })));
      const sharedIds = await atMost(TOGETHER, shares, async ({ file, h }) => {
        const shared = await hosts[h]!.peershare(['share', file.path]);
        expect(shared.code, shared.stderr).toBe(0);
        return /[0-9a-f]{64}/.exec(shared.stdout)![0];
      });
      for (const [k, { file }] of shares.entries()) {
        // Every holder of a file shares the same bytes: the same id.
        if (file.id) expect(sharedIds[k]).toBe(file.id);
        file.id = sharedIds[k]!;
      }

      // 30 downloads, each by a reachable host that does not hold the file, queued once the
      // downloader's Fetch lists a holder (the NAT'd host's files: as a firewalled holder).
      const queued = files.flatMap((file, f) =>
        [...Array(NATTED).keys()]
          .filter((h) => !file.holders.includes(h))
          .filter((_, k) => k % 3 === f % 3)
          .slice(0, DOWNLOADS_PER_FILE)
          .map((h) => ({ host: h, file: f })),
      );
      expect(queued).toHaveLength(FILES * DOWNLOADS_PER_FILE);
      await atMost(TOGETHER, queued, (q) =>
        expect.poll(async () => (await hosts[q.host]!.peershare(['get', files[q.file]!.id])).code, POLL).toBe(0),
      );
      const byHost = [...new Set(queued.map((q) => q.host))];
      const downloadsOf = async (h: number) => (await hosts[h]!.peershareJson<Downloads>(['downloads'])).downloads;
      const queuedOn = (h: number, list: Download[]) =>
        queued.filter((q) => q.host === h).map((q) => ({ q, d: list.find((d) => d.fileId === files[q.file]!.id) }));

      // One `downloads` call per host, all at once: quick enough that the check sees the queue as it is.
      const unfinished = async () => {
        const lists = await Promise.all(byHost.map(async (h) => queuedOn(h, await downloadsOf(h))));
        return lists.flat().filter(({ d }) => d?.state !== 'done').length;
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
      await atMost(TOGETHER, hosts, async (h) =>
        expect((await h.peershare(['limits', '--download', 'none'])).code).toBe(0),
      );
      // Each host's downloads as they are once all of its queued ones ended (an ended download stays ended).
      const ended = new Map<number, Array<{ q: (typeof queued)[number]; d: Download | undefined }>>();
      await expect
        .poll(async () => {
          await Promise.all(
            byHost
              .filter((h) => !ended.has(h))
              .map(async (h) => {
                const mine = queuedOn(h, await downloadsOf(h));
                if (mine.every(({ d }) => ENDED.includes(d?.state ?? ''))) ended.set(h, mine);
              }),
          );
          return ended.size;
        }, ENDED_POLL)
        .toBe(byHost.length);
      for (const { q, d } of [...ended.values()].flat()) {
        const file = files[q.file]!;
        const done = d!;
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
