/**
 * The peershare commands, run as real processes against a running 3-peer network: the same
 * scenarios for both run modes (commands.test.ts: each peer one process; split-mode.test.ts: each
 * peer five processes with RabbitMQ), since the commands must behave the same against either.
 * Each scenario shares files under words of its own, so the scenarios do not see each other's.
 * Peer B's downloads are capped at 64 KiB/s, so that a download of a few MiB stays running while
 * it is paused, resumed and cancelled.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PORTS } from '../../src/shared/config.ts';
import type { CommandNetwork, NetworkPeer, PeerOptions } from '../support/command-network.ts';
import { postForEvents, readEventStream } from '../support/event-stream.ts';
import { samplesIn } from '../support/host-metrics.ts';
import { runCommand, runOnTerminal } from '../support/run-command.ts';
import { Teardown, type Defer } from '../support/teardown.ts';
import { tempDir } from '../support/temp.ts';

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');
const MiB = 1024 * 1024;
const NO_SUCH_ID = '0'.repeat(64);

/** The options the scenarios need of the network: B's downloads capped. */
export const NETWORK_OPTIONS: PeerOptions[] = [{}, { maxDownloadRate: '64KiB' }, {}];

/** The id in the first line `share` prints. */
function firstId(stdout: string): string {
  const m = /^([0-9a-f]{64}) /.exec(stdout);
  if (!m) throw new Error(`share printed no id: ${stdout}`);
  return m[1]!;
}

/** A counter of `peer`'s Search service (peershare_search_NAME), read from its GET /metrics. */
async function searchCounter(peer: NetworkPeer, name: string): Promise<number> {
  const text = await (await fetch(`http://${peer.host}:${DEFAULT_PORTS.searchApiPort}/metrics`)).text();
  const samples = samplesIn(text, `peershare_search_${name}`);
  if (!samples) throw new Error(`${peer.host}: Search's /metrics has no peershare_search_${name}`);
  return samples.reduce((sum, sample) => sum + sample.value, 0);
}

/** The peers `peer`'s Fetch lists as holding `fileId` (what get --name's vote counts), sorted. */
async function listedHolders(peer: NetworkPeer, fileId: string): Promise<string[]> {
  const answer = await fetch(`http://${peer.host}:${DEFAULT_PORTS.fetchPort}/sources/${fileId}`);
  return ((await answer.json()) as { sources: Array<{ peerId: string }> }).sources.map((s) => s.peerId).sort();
}

const oneLineError = (r: { code: number | null; stdout: string; stderr: string }, code: number, pattern: RegExp) => {
  expect(r.code).toBe(code);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(/^peershare: [^\n]+\n$/);
  expect(r.stderr).toMatch(pattern);
};

/**
 * Registers the scenarios under `title`, against the network `start` brings up once for the file
 * and tears down in an afterAll hook (afterAll hooks registered before this call run after it).
 * Returns a getter for the network, for mode-specific tests.
 */
export function commandScenarios(
  title: string,
  start: (defer: Defer) => Promise<CommandNetwork>,
): () => CommandNetwork {
  let net: CommandNetwork | undefined;
  const network = () =>
    net ??
    (() => {
      throw new Error('the network did not start');
    })();

  // Not a clean-up returned by beforeAll: vitest skips those when an afterAll hook fails.
  const teardown = new Teardown();
  beforeAll(async () => {
    net = await start(teardown.defer);
  }, 180_000);
  afterAll(() => teardown.run(), 120_000);

  describe(title, () => {
    it('share: a folder and a relative path print each file id; an unchanged file is not hashed again', async () => {
      const [a, b] = network().peers;
      const dir = tempDir();
      const data = randomBytes(2 * MiB + 77);
      mkdirSync(join(dir, 'a'));
      writeFileSync(join(dir, 'a', 'Quarterly zephyr report.pdf'), data);
      writeFileSync(join(dir, 'a', 'zephyr notes.txt'), 'notes about the zephyr report\n');
      writeFileSync(join(dir, 'b-zephyr-copy.pdf'), data);

      const sharedA = await runCommand(['share', join(dir, 'a'), '--api', a.host]);
      expect(sharedA).toMatchObject({ code: 0, stderr: '' });
      // Each file's row, then its peershare: link (hinted at this peer first).
      const linkOf = (name: string) =>
        ` {2}link: peershare:\\?id=[0-9a-f]{64}&name=${name}&size=\\d+&hint=${a.peerId}@${a.host.replace(/\./g, '\\.')}:${DEFAULT_PORTS.filesPort}\\S*\\n`;
      expect(sharedA.stdout).toMatch(
        new RegExp(
          `^[0-9a-f]{64} +2\\.0 MiB {2}Quarterly zephyr report\\.pdf\\n${linkOf('Quarterly%20zephyr%20report\\.pdf')}[0-9a-f]{64} +30 B {2}zephyr notes\\.txt\\n${linkOf('zephyr%20notes\\.txt')}folder a: 2 files, 2\\.0 MiB {2}collection [0-9a-f]{64}\\n {2}link: peershare:\\?folder=[0-9a-f]{64}&name=a&size=\\d+&hint=${a.peerId}@\\S+\\n$`,
        ),
      );
      const id = firstId(sharedA.stdout);
      // A relative path is the user's, made absolute by the command; --json is one document.
      const sharedB = await runCommand(['share', 'b-zephyr-copy.pdf', '--json', '--api', b.host], {}, dir);
      expect(JSON.parse(sharedB.stdout)).toEqual({
        files: [
          {
            id,
            name: 'b-zephyr-copy.pdf',
            path: join(dir, 'b-zephyr-copy.pdf'),
            size: data.length,
            hashed: true,
            link: expect.stringMatching(
              new RegExp(`^peershare:\\?id=${id}&name=b-zephyr-copy\\.pdf&size=${data.length}&hint=${b.peerId}@`),
            ),
          },
        ],
        skipped: [],
      });
      const again = JSON.parse((await runCommand(['share', join(dir, 'a'), '--json', '--api', a.host])).stdout) as {
        files: Array<{ hashed: boolean }>;
      };
      expect(again.files.map((f: { hashed: boolean }) => f.hashed)).toEqual([false, false]);
    });

    it('share on a terminal draws a progress bar while hashing; the Client API streams rising byte counts to the total', async () => {
      const [a] = network().peers;
      const dir = tempDir();
      const size = 3 * MiB + 5;
      writeFileSync(join(dir, 'aardvark-tape.bin'), randomBytes(size));
      writeFileSync(join(dir, 'aardvark-label.txt'), 'tape label');

      const onTerminal = await runOnTerminal(['share', dir, '--api', a.host]);
      expect(onTerminal.code).toBe(0);
      // One line redrawn in place (\r) while hashing, with speed and time left, never full before
      // the end; then 100% of both files, and the ids, each with its link.
      const redraws = onTerminal.output.match(/\rhashing {2}\[[#-]{20}\] +\d+% [^\r]*/g) ?? [];
      expect(redraws.length).toBeGreaterThanOrEqual(1);
      for (const line of redraws)
        expect(line).toMatch(
          /\[[#-]*-\] +\d{1,2}% {2}[\d.]+ \S*B\/3\.0 MiB {2}(\S+ \S*B\/s {2})?ETA \S+ {2}\d\/2 files/,
        );
      expect(onTerminal.output).toMatch(
        /\rhashed {3}\[#{20}\] {2}100% {2}3\.0 MiB\/3\.0 MiB {2}[\d.]+ \S*B\/s {2}2\/2 files {2}aardvark-tape\.bin\x1b\[K\r?\n/,
      );
      expect(onTerminal.output).toMatch(
        /\n[0-9a-f]{64} +10 B {2}aardvark-label\.txt\r?\n {2}link: peershare:\S+\r?\n[0-9a-f]{64} +3\.0 MiB {2}aardvark-tape\.bin\r?\n {2}link: peershare:\S+\r?\n/,
      );

      // With --json, on a terminal too, only the one JSON document (as get --wait --json).
      writeFileSync(join(dir, 'aardvark-tape-json.bin'), randomBytes(size));
      const asJson = await runOnTerminal(['share', join(dir, 'aardvark-tape-json.bin'), '--json', '--api', a.host]);
      expect(asJson.code).toBe(0);
      expect(asJson.output).not.toMatch(/hash(ing|ed) +\[/); // no bar
      expect((JSON.parse(asJson.output.trim()) as { files: unknown[] }).files).toHaveLength(1);

      // The stream under the bar: progress events, then the result.
      writeFileSync(join(dir, 'aardvark-tape-2.bin'), randomBytes(size));
      const events = await readEventStream<{
        bytesDone: number;
        bytesTotal: number;
        filesDone: number;
        filesTotal: number;
      }>(
        await postForEvents(`http://${a.host}:${DEFAULT_PORTS.clientPort}/shares`, {
          path: join(dir, 'aardvark-tape-2.bin'),
        }),
      );
      expect(events.map((e) => e.event)).toEqual([...events.slice(0, -1).map(() => 'progress'), 'result']);
      const counts = events.slice(0, -1).map((e) => e.data.bytesDone);
      expect(counts[0]).toBe(0);
      expect(events.at(-2)!.data).toEqual({
        filesTotal: 1,
        filesDone: 1,
        bytesTotal: size,
        bytesDone: size,
        path: join(dir, 'aardvark-tape-2.bin'),
      });
      for (let i = 1; i < counts.length; i++) expect(counts[i]).toBeGreaterThanOrEqual(counts[i - 1]!);
      expect(new Set(counts).size).toBeGreaterThanOrEqual(4); // 0 and each 1 MiB chunk of 3 MiB
      expect(events.at(-1)!.data).toMatchObject({ files: [{ name: 'aardvark-tape-2.bin', size, hashed: true }] });
    });

    it('search: each file once, with its holders and best hops, laid out for 80 columns on a pipe, then the summary; --json is one document', async () => {
      const [a, b, c] = network().peers;
      const dir = tempDir();
      writeFileSync(join(dir, 'marmot field guide.pdf'), 'marmots of the alps');
      writeFileSync(join(dir, 'marmot burrow.jpg'), 'a burrow');
      writeFileSync(
        join(dir, 'marmot den map with a rather long name that does not fit in a column.png'),
        'a map of the den',
      );
      const shared = await Promise.all([
        runCommand(['share', join(dir, 'marmot field guide.pdf'), '--api', a.host]),
        runCommand(['share', join(dir, 'marmot burrow.jpg'), '--api', b.host]),
        runCommand([
          'share',
          join(dir, 'marmot den map with a rather long name that does not fit in a column.png'),
          '--api',
          a.host,
        ]),
        runCommand([
          'share',
          join(dir, 'marmot den map with a rather long name that does not fit in a column.png'),
          '--api',
          b.host,
        ]),
      ]);
      const [guide, burrow, map] = shared.map((r) => firstId(r.stdout));

      const text = await runCommand(['search', 'marmot', '--timeout', '2', '--api', c.host]);
      expect(text.code).toBe(0);
      const lines = text.stdout.trimEnd().split('\n');
      // The map, held by both, once and first; each id on the line under its file; nothing past 80 columns.
      expect(lines).toHaveLength(7);
      expect(lines.slice(0, 2).join('\n')).toMatch(
        new RegExp(`^marmot den map with a rather long[^\n]*… +16 B  2 holders  1 hop\n  id ${map}$`),
      );
      expect(text.stdout).toMatch(
        new RegExp(`^marmot burrow\\.jpg +8 B  1 holder {3}(1 hop|2 hops)\n  id ${burrow}$`, 'm'),
      );
      expect(text.stdout).toMatch(
        new RegExp(`^marmot field guide\\.pdf +19 B  1 holder {3}(1 hop|2 hops)\n  id ${guide}$`, 'm'),
      );
      for (const line of lines) expect(line.length).toBeLessThanOrEqual(80);
      expect(lines.at(-1)).toMatch(
        /^3 files: 4 hits from 2 peers in \d+\.\ds \(\d+ duplicates dropped, ended: deadline\)$/,
      );

      const json = JSON.parse(
        (await runCommand(['search', 'marmot', 'guide', '--timeout', '1', '--json', '--api', c.host])).stdout,
      ) as { hits: unknown[]; summary: unknown };
      // One hop straight from A, or two when the query reached A through B first (then A drops C's copy).
      expect(json.hits).toEqual([
        expect.objectContaining({
          fileId: guide,
          name: 'marmot field guide.pdf',
          holderPeerId: a.peerId,
          hops: expect.toSatisfy((h: number) => h === 1 || h === 2),
        }),
      ]);
      expect(json.summary).toMatchObject({ hits: 1, peersAnswered: 1 });
      const none = await runCommand(['search', 'nothingsharedbythisname', '--timeout', '0.5', '--api', c.host]);
      expect(none.stdout).toMatch(/^0 files: 0 hits from 0 peers/);
    });

    it('get --name --wait and get ID --out --wait --json download the file, which the downloader then shares', async () => {
      const [a, b, c] = network().peers;
      const dir = tempDir();
      const data = randomBytes(2 * MiB + 3);
      writeFileSync(join(dir, 'quokka-documentary.mp4'), data);
      mkdirSync(join(dir, 'b'));
      writeFileSync(join(dir, 'b', 'quokka-documentary.mp4'), data);
      writeFileSync(join(dir, 'quokka-trailer.mp4'), 'a different, smaller quokka file');
      const id = firstId((await runCommand(['share', join(dir, 'quokka-documentary.mp4'), '--api', a.host])).stdout);
      expect(firstId((await runCommand(['share', join(dir, 'b'), '--api', b.host])).stdout)).toBe(id);
      expect((await runCommand(['share', join(dir, 'quokka-trailer.mp4'), '--api', a.host])).code).toBe(0);

      // By name: the documentary, held by two peers, beats the trailer held by one.
      const byName = await runCommand(['get', '--name', 'quokka', '--wait', '--api', c.host]);
      expect(byName.stderr).toMatch(/^downloading quokka-documentary\.mp4 {2}key [0-9a-f]{32}\n/);
      expect(byName.stderr).toMatch(/100% +2\.0 MiB\/2\.0 MiB .* done\n$/);
      expect(byName.code).toBe(0);
      expect(byName.stdout).toBe(`${join(c.dataDir, 'downloads', 'quokka-documentary.mp4')}\n`);
      expect(sha256(readFileSync(byName.stdout.trim()))).toBe(sha256(data));

      const out = join(tempDir(), 'out');
      const byId = await runCommand(['get', id, '--out', out, '--wait', '--json', '--api', c.host]);
      expect(byId.code).toBe(0);
      expect(JSON.parse(byId.stdout)).toMatchObject({
        state: 'done',
        fileId: id,
        bytesDone: data.length,
        finalPath: join(out, 'quokka-documentary.mp4'),
      });

      const downloads = await runCommand(['downloads', '--api', c.host]);
      expect(downloads.stdout.match(/^[0-9a-f]{32}  done +100%  2\.0 MiB  quokka-documentary\.mp4$/gm)).toHaveLength(2);
      const listed = (
        JSON.parse((await runCommand(['downloads', '--json', '--api', c.host])).stdout) as {
          downloads: Array<{ fileId: string; state: string }>;
        }
      ).downloads;
      expect(
        listed.filter((d: { fileId: string; state: string }) => d.fileId === id).map((d: { state: string }) => d.state),
      ).toEqual(['done', 'done']);
      // The downloader now shares the file too.
      expect((await runCommand(['files', '--api', c.host])).stdout).toContain(
        `${id}    2.0 MiB  quokka-documentary.mp4`,
      );
      // A finished file the user deleted is listed as gone, saying what to do.
      rmSync(join(out, 'quokka-documentary.mp4'));
      const after = (await runCommand(['downloads', '--api', c.host])).stdout;
      expect(after.match(/^[0-9a-f]{32}  done +100%  2\.0 MiB  quokka-documentary\.mp4$/gm)).toHaveLength(1);
      expect(after).toMatch(
        new RegExp(
          `^[0-9a-f]{32}  gone +100%  2\\.0 MiB  quokka-documentary\\.mp4  \\(no longer at ${join(out, 'quokka-documentary.mp4').replace(/[.]/g, '\\.')}: get it again to download it anew\\)$`,
          'm',
        ),
      );
    });

    it('search --want: Search widens the search (TTL 2, 4, then full) only while fewer than N other peers answered', async () => {
      const [a, , c] = network().peers;
      const dir = tempDir();
      writeFileSync(join(dir, 'gecko habitat.txt'), 'one holder of the gecko file');
      expect((await runCommand(['share', join(dir, 'gecko habitat.txt'), '--api', a.host])).code).toBe(0);
      const widened = () => searchCounter(c, 'searches_widened_total');

      // One holder answers, five are wanted: both wider steps go out before the 5 s deadline.
      const before = await widened();
      const wanting = await runCommand(['search', 'gecko', '--want', '5', '--timeout', '5', '--json', '--api', c.host]);
      expect(wanting.code).toBe(0);
      expect(JSON.parse(wanting.stdout)).toMatchObject({ summary: { peersAnswered: 1, hits: 1 } });
      expect((await widened()) - before).toBe(2);
      // Without --want the search is one flood at the full TTL: nothing widens.
      const plain = await runCommand(['search', 'gecko', '--timeout', '0.5', '--api', c.host]);
      expect(plain.stdout).toMatch(/^gecko habitat\.txt /);
      expect((await widened()) - before).toBe(2);
    });

    it(
      "search --want and get --name end once as many other peers answered as they want ('enough'), not at their deadline",
      { timeout: 60_000 },
      async () => {
        const [a, b, c] = network().peers;
        const dir = tempDir();
        writeFileSync(join(dir, 'ibex horns.txt'), 'the ibex file both hold');
        const ibex = firstId((await runCommand(['share', join(dir, 'ibex horns.txt'), '--api', a.host])).stdout);
        expect(firstId((await runCommand(['share', join(dir, 'ibex horns.txt'), '--api', b.host])).stdout)).toBe(ibex);
        // get --name counts the holders C's Fetch lists: wait until it has synced both.
        await expect
          .poll(() => listedHolders(c, ibex), { timeout: 30_000, interval: 100 })
          .toEqual([a.peerId, b.peerId].sort());
        const started = () => searchCounter(c, 'searches_started_total');
        const before = await started();

        // A minute's deadline (the most a search may ask), twice the test's own timeout: each
        // ends when A and B have answered, and says so.
        const wanting = await runCommand([
          'search',
          'ibex',
          '--want',
          '2',
          '--timeout',
          '60',
          '--json',
          '--api',
          c.host,
        ]);
        expect(wanting.code).toBe(0);
        expect(JSON.parse(wanting.stdout)).toMatchObject({ summary: { ended: 'enough', peersAnswered: 2, hits: 2 } });
        const got = await runCommand([
          'get',
          '--name',
          'ibex',
          '--want',
          '2',
          '--timeout',
          '60',
          '--json',
          '--api',
          c.host,
        ]);
        expect(got).toMatchObject({ code: 0, stderr: '' });
        expect(JSON.parse(got.stdout)).toMatchObject({
          holders: 2,
          vote: { want: 2, answered: 2, close: false, widened: false },
          download: { fileId: ibex },
        });
        expect((await started()) - before).toBe(2); // one search each: nothing widened to a second search
      },
    );

    // Three searches by name (one of them twice) at the default 3 s deadline, and Fetch's sync first.
    it(
      'get --name asks for the wider search when its vote is close once the wanted peers answered, and not when it is clear',
      { timeout: 120_000 },
      async () => {
        const [a, b, c] = network().peers;
        const dir = tempDir();
        writeFileSync(join(dir, 'pangolin scales.txt'), 'the pangolin file both hold');
        writeFileSync(join(dir, 'okapi one.txt'), "A's okapi file");
        writeFileSync(join(dir, 'okapi two.txt'), "B's okapi file");
        const pangolin = firstId(
          (await runCommand(['share', join(dir, 'pangolin scales.txt'), '--api', a.host])).stdout,
        );
        expect(firstId((await runCommand(['share', join(dir, 'pangolin scales.txt'), '--api', b.host])).stdout)).toBe(
          pangolin,
        );
        const okapiA = firstId((await runCommand(['share', join(dir, 'okapi one.txt'), '--api', a.host])).stdout);
        const okapiB = firstId((await runCommand(['share', join(dir, 'okapi two.txt'), '--api', b.host])).stdout);
        // The vote counts the holders C's Fetch lists (each peer's own file list): wait until it has synced them.
        await expect
          .poll(() => listedHolders(c, pangolin), { timeout: 30_000, interval: 100 })
          .toEqual([a.peerId, b.peerId].sort());
        await expect.poll(() => listedHolders(c, okapiA), { timeout: 30_000, interval: 100 }).toEqual([a.peerId]);
        await expect.poll(() => listedHolders(c, okapiB), { timeout: 30_000, interval: 100 }).toEqual([b.peerId]);
        const started = () => searchCounter(c, 'searches_started_total');

        // Clear: both peers C wants answered, both with the same file (2 against 0, the margin is 2). One search.
        let before = await started();
        const clear = await runCommand(['get', '--name', 'pangolin', '--want', '2', '--api', c.host]);
        expect(clear).toMatchObject({ code: 0, stderr: '' });
        expect(clear.stdout).toMatch(/^queued pangolin scales\.txt \(27 B, 2 holders\) {2}key [0-9a-f]{32}\n$/);
        expect((await started()) - before).toBe(1);

        // Close: both answered, each with a file of its own (1 against 1): the wider search goes out before the pick
        // (still a tie, so the file found first).
        before = await started();
        const close = await runCommand(['get', '--name', 'okapi', '--want', '2', '--api', c.host]);
        expect(close.code).toBe(0);
        expect(close.stderr).toBe(
          'close vote: 1 holder against 1 once 2 peers answered (2 wanted); searched again at the full TTL: 1 holder against 1\n',
        );
        expect(close.stdout).toMatch(/^queued okapi (one|two)\.txt \(14 B, 1 holder\) {2}key [0-9a-f]{32}\n$/);
        expect((await started()) - before).toBe(2);
        // --json carries the vote.
        before = await started();
        const asJson = JSON.parse(
          (await runCommand(['get', '--name', 'okapi', '--want', '2', '--json', '--api', c.host])).stdout,
        ) as { vote: unknown };
        expect(asJson.vote).toEqual({
          want: 2,
          answered: 2,
          margin: 2,
          first: { holders: 1, runnerUp: 1 },
          close: true,
          widened: true,
          runnerUp: 1,
        });
        expect((await started()) - before).toBe(2);
      },
    );

    it('downloads pause, resume and cancel a running download; its partial file goes with the cancel', async () => {
      const [a, b] = network().peers;
      const dir = tempDir();
      writeFileSync(join(dir, 'walrus-migration.mkv'), randomBytes(4 * MiB)); // over a minute at B's 64 KiB/s
      const id = firstId((await runCommand(['share', join(dir, 'walrus-migration.mkv'), '--api', a.host])).stdout);

      const queued = await runCommand(['get', id, '--api', b.host]);
      expect(queued.stdout).toMatch(/^queued walrus-migration\.mkv \(4\.0 MiB, 1 holder\) {2}key [0-9a-f]{32}\n$/);
      const key = /key ([0-9a-f]{32})/.exec(queued.stdout)![1]!;

      // A prefix that names one download is enough.
      const paused = await runCommand(['downloads', 'pause', key.slice(0, 8), '--api', b.host]);
      expect(paused).toMatchObject({ code: 0, stdout: `${key}  paused  walrus-migration.mkv\n` });
      const listed = (
        JSON.parse((await runCommand(['downloads', '--json', '--api', b.host])).stdout) as {
          downloads: Array<{ key: string }>;
        }
      ).downloads;
      expect(listed.find((d: { key: string }) => d.key === key)).toMatchObject({ state: 'paused', fileId: id });

      const resumed = JSON.parse((await runCommand(['downloads', 'resume', key, '--json', '--api', b.host])).stdout);
      expect(resumed).toMatchObject({ key, state: expect.stringMatching(/^(queued|running)$/) });
      // Running, it shows its speed, time left and sources on the line under it.
      await expect
        .poll(async () => (await runCommand(['downloads', '--api', b.host])).stdout, { timeout: 20_000 })
        .toMatch(
          new RegExp(
            `^${key}  running +\\d+%  4\\.0 MiB  walrus-migration\\.mkv\\n {34}\\d[\\d.]* (B|KiB)/s  ETA (\\?|\\d\\S*)  1 source\\n {36}${a.peerId.slice(0, 12)}@${a.host.replace(/\./g, '\\.')}:${DEFAULT_PORTS.filesPort}  [\\d.]+ (B|KiB|MiB)  [\\d.]+ (B|KiB)/s$`,
            'm',
          ),
        );
      const cancelled = await runCommand(['downloads', 'cancel', key, '--api', b.host]);
      expect(cancelled).toMatchObject({ code: 0, stdout: `${key}  cancelled  walrus-migration.mkv\n` });
      expect((await runCommand(['downloads', '--api', b.host])).stdout).toMatch(
        new RegExp(`^${key}  cancelled .*walrus-migration\\.mkv$`, 'm'),
      );
      // Resuming it now is an error that says why, not a silent no-op.
      oneLineError(
        await runCommand(['downloads', 'resume', key, '--api', b.host]),
        1,
        new RegExp(
          `download ${key} was cancelled and its partial file deleted: nothing to resume; download it again with: .* get ${id}`,
        ),
      );
      // clear forgets it (and every other ended download) from the list.
      const cleared = await runCommand(['downloads', 'clear', '--api', b.host]);
      expect(cleared).toMatchObject({ code: 0, stderr: '' });
      expect(cleared.stdout).toMatch(
        /^cleared [1-9]\d* finished, failed or cancelled downloads? from the list \(saved files stay\)\n$/,
      );
      expect((await runCommand(['downloads', '--api', b.host])).stdout).not.toContain(key);
      const downloadsDir = join(b.dataDir, 'downloads');
      expect((existsSync(downloadsDir) ? readdirSync(downloadsDir) : []).filter((n) => n.includes('walrus'))).toEqual(
        [],
      );

      oneLineError(
        await runCommand(['downloads', 'pause', 'fffffffff', '--api', b.host]),
        2,
        /no download has key fffffffff/,
      );
      oneLineError(
        await runCommand(['downloads', 'cancel', 'f'.repeat(32), '--api', b.host]),
        1,
        new RegExp(`no download has key ${'f'.repeat(32)}`),
      );
    });

    it('a shared folder: share prints its link; get LINK --wait recreates its tree on another peer, every file verified', async () => {
      const [a, , c] = network().peers;
      const root = join(tempDir(), 'Trip photos');
      const tree: Record<string, Buffer> = {
        'cover.png': randomBytes(40_000),
        'day 1/beach.jpg': randomBytes(300_000),
        'day 1/raw/beach.cr2': randomBytes(500_000),
        'day 2/notes.txt': Buffer.from('the ferry left at nine\n'),
      };
      for (const [path, data] of Object.entries(tree)) {
        mkdirSync(join(root, path, '..'), { recursive: true });
        writeFileSync(join(root, path), data);
      }
      const shared = await runCommand(['share', root, '--api', a.host]);
      expect(shared.code, shared.stderr).toBe(0);
      const link = /^ {2}link: (peershare:\?folder=[0-9a-f]{64}\S*)$/m.exec(shared.stdout)?.[1];
      expect(link, shared.stdout).toMatch(
        new RegExp(`^peershare:\\?folder=[0-9a-f]{64}&name=Trip%20photos&size=${840_023}&hint=${a.peerId}@`),
      );

      const out = tempDir();
      const got = await runCommand(['get', link!, '--out', out, '--wait', '--api', c.host]);
      expect(got.code, got.stderr).toBe(0);
      expect(got.stdout).toBe(`${join(out, 'Trip photos')}\n`);
      for (const [path, data] of Object.entries(tree))
        expect(readFileSync(join(out, 'Trip photos', path)).equals(data), path).toBe(true);
      // files lists the folder too, with the same link.
      const listed = await runCommand(['files', '--api', a.host]);
      expect(listed.stdout).toMatch(
        new RegExp(
          `^folders \\(get the whole tree with its link\\):\\n[0-9a-f]{64} +820 KiB {2}Trip photos/ {2}4 files\\n {2}link: ${link!.replace(/[?.]/g, '\\$&')}$`,
          'm',
        ),
      );

      // A link whose folder id the peer does not hold is refused, and nothing is queued.
      const wrong = link!.replace(/folder=[0-9a-f]{64}/, `folder=${'0'.repeat(64)}`);
      oneLineError(
        await runCommand(['get', wrong, '--api', c.host]),
        1,
        new RegExp(`no peer the link names sent folder ${'0'.repeat(64)}`),
      );
    });

    it(
      'a shared folder is found by search, listed as a folder; get of its bare id recreates its tree, --list prints its files and --only takes some',
      { timeout: 90_000 },
      async () => {
        const [a, , c] = network().peers;
        const root = join(tempDir(), 'Kestrel survey');
        const tree: Record<string, Buffer> = {
          'map.png': randomBytes(20_000),
          'counts/spring.csv': Buffer.from('kestrel,4\n'),
        };
        for (const [path, data] of Object.entries(tree)) {
          mkdirSync(join(root, path, '..'), { recursive: true });
          writeFileSync(join(root, path), data);
        }
        const shared = await runCommand(['share', root, '--api', a.host]);
        expect(shared.code, shared.stderr).toBe(0);
        const id = /^folder Kestrel survey: 2 files, .* collection ([0-9a-f]{64})$/m.exec(shared.stdout)?.[1];
        expect(id, shared.stdout).toBeDefined();

        // The folder's own name matches (no file in it is named kestrel or survey).
        const found = await runCommand(['search', 'kestrel', 'survey', '--timeout', '3', '--api', c.host]);
        expect(found.code, found.stderr).toBe(0);
        // On a pipe (80 columns) the id goes on the line below.
        expect(found.stdout).toMatch(
          new RegExp(`^Kestrel survey/ \\(2 files\\) +\\S+ KiB {2}1 holder {2}\\d hops? *\\n {2}id ${id}$`, 'm'),
        );
        expect(found.stdout).toMatch(/^0 files and 1 folder: 1 hit from 1 peer /m);

        const out = tempDir();
        const got = await runCommand(['get', id!, '--out', out, '--wait', '--api', c.host]);
        expect(got.code, got.stderr).toBe(0);
        expect(got.stdout).toBe(`${join(out, 'Kestrel survey')}\n`);
        for (const [path, data] of Object.entries(tree))
          expect(readFileSync(join(out, 'Kestrel survey', path)).equals(data), path).toBe(true);

        // File by file: --list prints its files; --only takes the files at or under a path.
        const listed = await runCommand(['get', id!, '--list', '--api', c.host]);
        expect(listed.code, listed.stderr).toBe(0);
        expect(listed.stdout).toMatch(
          new RegExp(
            `^folder Kestrel survey: 2 files, \\S+ KiB {2}collection ${id}\n[0-9a-f]{64} +10 B {2}counts/spring\\.csv\n[0-9a-f]{64} +\\S+ KiB {2}map\\.png\n$`,
          ),
        );
        const some = tempDir();
        const only = await runCommand(['get', id!, '--only', 'counts/', '--out', some, '--wait', '--api', c.host]);
        expect(only.code, only.stderr).toBe(0);
        expect(readdirSync(join(some, 'Kestrel survey'), { recursive: true }).sort()).toEqual([
          'counts',
          join('counts', 'spring.csv'),
        ]);
        oneLineError(
          await runCommand(['get', id!, '--only', 'nope.txt', '--api', c.host]),
          1,
          /folder [0-9a-f]{64} has no file or folder "nope\.txt"; nothing was queued/,
        );
        oneLineError(
          await runCommand(['get', id!, '--list', '--wait', '--api', c.host]),
          2,
          /--list only prints a folder's files/,
        );
      },
    );

    it('limits: the bandwidth caps change while transfers run, pace what they cap, and are kept in the config file', async () => {
      const [a, , c] = network().peers;
      const dir = tempDir();
      writeFileSync(join(dir, 'glacier-survey.bin'), randomBytes(2 * MiB));
      writeFileSync(join(dir, 'glacier-paced.bin'), randomBytes(MiB));
      const survey = firstId((await runCommand(['share', join(dir, 'glacier-survey.bin'), '--api', a.host])).stdout);
      const paced = firstId((await runCommand(['share', join(dir, 'glacier-paced.bin'), '--api', a.host])).stdout);
      const config = () => JSON.parse(readFileSync(join(c.dataDir, 'config.json'), 'utf8')) as Record<string, unknown>;

      // C caps its downloads at 16 KiB/s: the 2 MiB survey would take over two minutes.
      const capped = await runCommand(['limits', '--download', '16KiB', '--api', c.host]);
      expect(capped).toEqual({
        code: 0,
        stderr: '',
        stdout: `download  16 KiB/s\nupload    no cap\nin force now, and kept in ${join(c.dataDir, 'config.json')}\n`,
      });
      expect(config()).toMatchObject({ maxDownloadRate: 16 * 1024 });
      const key = (
        JSON.parse((await runCommand(['get', survey, '--json', '--api', c.host])).stdout) as {
          download: { key: string };
        }
      ).download.key;
      await expect
        .poll(
          async () =>
            (
              JSON.parse((await runCommand(['downloads', '--json', '--api', c.host])).stdout) as {
                downloads: Array<{ key: string; state: string }>;
              }
            ).downloads.find((d) => d.key === key)?.state,
          { timeout: 20_000 },
        )
        .toBe('running');
      // Lifted while it runs: the download goes on at once, not two minutes later.
      const lifted = JSON.parse((await runCommand(['limits', '--download', 'none', '--json', '--api', c.host])).stdout);
      expect(lifted).toEqual({ maxDownloadRate: 0, maxUploadRate: 0, keptIn: join(c.dataDir, 'config.json') });
      expect(config()).toMatchObject({ maxDownloadRate: 0 });
      await expect
        .poll(
          async () =>
            (
              JSON.parse((await runCommand(['downloads', '--json', '--api', c.host])).stdout) as {
                downloads: Array<{ key: string; state: string }>;
              }
            ).downloads.find((d) => d.key === key)?.state,
          { timeout: 20_000 },
        )
        .toBe('done');

      // A caps what it sends to other peers at 256 KiB/s: 1 MiB takes it at least 3 s after the
      // first second's burst (a lower bound: a busy machine only makes it slower).
      expect((await runCommand(['limits', '-u', '256KiB', '--json', '--api', a.host])).stdout).toContain(
        '"maxUploadRate":262144',
      );
      const started = performance.now();
      expect((await runCommand(['get', paced, '--wait', '--api', c.host])).code).toBe(0);
      expect(performance.now() - started).toBeGreaterThanOrEqual(2_500);
      // What A sent of it is counted into the file's upload total (kept in its catalog).
      const held = (
        JSON.parse((await runCommand(['files', '--json', '--api', a.host])).stdout) as {
          items: Array<{ id: string; uploaded: number }>;
        }
      ).items.find((f) => f.id === paced);
      expect(held?.uploaded).toBeGreaterThanOrEqual(MiB);
      expect((await runCommand(['files', '--api', a.host])).stdout).toMatch(
        new RegExp(`^${paced} +1\\.0 MiB {2}glacier-paced\\.bin {2}\\(sent [\\d.]+ MiB to peers\\)$`, 'm'),
      );
      expect((await runCommand(['limits', '--upload', '0', '--api', a.host])).code).toBe(0);
      expect(JSON.parse((await runCommand(['limits', '--json', '--api', a.host])).stdout)).toMatchObject({
        maxDownloadRate: 0,
        maxUploadRate: 0,
      });

      oneLineError(
        await runCommand(['limits', '--download', 'fast', '--api', c.host]),
        2,
        /--download takes a rate such as 10MiB, 512KiB or 0 \(no cap\), not "fast"/,
      );
      // A file a peer shares itself is not downloaded again into its downloads folder.
      oneLineError(
        await runCommand(['get', survey, '--api', a.host]),
        1,
        new RegExp(
          `this peer already shares file ${survey} at ${join(dir, 'glacier-survey.bin')}: nothing downloaded; ask for another folder \\(--out DIR\\) to get a copy there`,
        ),
      );
    });

    it('files lists and unshares; peers and status describe the peer and its network, as text and --json', async () => {
      const { peers, queue } = network();
      const [a, , c] = peers;
      const dir = tempDir();
      writeFileSync(join(dir, 'ibis-sketch.png'), 'an ibis');
      const id = firstId((await runCommand(['share', join(dir, 'ibis-sketch.png'), '--api', a.host])).stdout);

      const files = await runCommand(['files', '--api', a.host]);
      expect(files.stdout).toMatch(
        new RegExp(
          `^${id}  +7 B  ibis-sketch\\.png\\n  link: peershare:\\?id=${id}&name=ibis-sketch\\.png&size=7&hint=${a.peerId}@`,
          'm',
        ),
      );
      expect(files.stdout).toMatch(/^\d+ files? shared\n$/m);
      const filesJson = JSON.parse((await runCommand(['files', '--json', '--api', a.host])).stdout) as {
        items: unknown[];
      };
      expect(Object.keys(filesJson).sort()).toEqual(['folders', 'items', 'total']);
      expect(filesJson.items[0]).toMatchObject({
        id,
        name: 'ibis-sketch.png',
        names: ['ibis-sketch.png'],
        size: 7,
        paths: [join(dir, 'ibis-sketch.png')],
        link: expect.stringMatching(/^peershare:\?id=/),
      });
      expect((await runCommand(['files', 'unshare', id, '--api', a.host])).stdout).toBe(`unshared ${id}\n`);
      expect((await runCommand(['files', '--api', a.host])).stdout).not.toContain(id);
      oneLineError(
        await runCommand(['files', 'unshare', id, '--api', a.host]),
        1,
        new RegExp(`no shared file has id ${id}`),
      );

      const peersText = await runCommand(['peers', '--api', c.host]);
      expect(peersText.stdout).toMatch(/2 peers known, 2 alive\n$/);
      expect(peersText.stdout).toContain(`${a.peerId.slice(0, 12)}  alive`);
      // C joined through B: B's Fetch address is pinned to the id it proved (trust on first use).
      expect(peersText.stdout).toMatch(
        new RegExp(`^${peers[1].host.replace(/\./g, '\\.')}:${DEFAULT_PORTS.fetchPort}  ${peers[1].peerId}$`, 'm'),
      );
      const peersJson = JSON.parse((await runCommand(['peers', '--json', '--api', c.host])).stdout) as {
        joinPins: unknown;
        peers: Array<{ peerId: string }>;
      };
      expect(peersJson.joinPins).toEqual([
        {
          address: `${peers[1].host}:${DEFAULT_PORTS.fetchPort}`,
          peerId: peers[1].peerId,
          pinnedAt: expect.any(Number),
        },
      ]);
      expect(peersJson.peers.map((p: { peerId: string }) => p.peerId).sort()).toEqual(
        [a.peerId, peers[1].peerId].sort(),
      );
      const addresses = { files: expect.any(String), search: expect.any(String), fetch: expect.any(String) };
      expect(peersJson.peers[0]).toEqual({
        peerId: expect.any(String),
        state: 'alive',
        lastSeen: expect.any(Number),
        addresses,
        advertised: [addresses],
        files: expect.any(Number),
      });

      const status = await runCommand(['status', '--api', c.host]);
      expect(status.stdout).toMatch(new RegExp(`^peer +${c.peerId}\\nuptime +\\d`));
      expect(status.stdout).toContain(`client API   ${c.host}:${DEFAULT_PORTS.clientPort}`);
      expect(status.stdout).toContain(`queue        ${queue}\n`);
      expect(status.stdout).toMatch(/^peers +2 known, 2 alive$/m);
      expect(status.stdout).toMatch(/^network +joined$/m);
      // Every value starts in one column, one space past the longest label ("download API").
      for (const line of status.stdout.trimEnd().split('\n')) expect(line.slice(12, 14)).toMatch(/^ \S$/);
      expect(status.stdout).not.toContain('unavailable');
      const statusJson = JSON.parse(
        (await runCommand(['status', '--json'], { PEERSHARE_API: `http://${c.host}:${DEFAULT_PORTS.clientPort}` }))
          .stdout,
      ) as { links: Array<{ peerId: string }> };
      expect(statusJson).toMatchObject({
        peerId: c.peerId,
        queue,
        counts: { knownPeers: 2, alivePeers: 2 },
        unavailable: [],
      });
      expect(statusJson.links.map((l: { peerId: string }) => l.peerId).sort()).toEqual(
        [a.peerId, peers[1].peerId].sort(),
      );
    });

    it('errors are one line on stderr with a non-zero exit: unknown id, a path that cannot be shared, bad flags', async () => {
      const [a] = network().peers;
      oneLineError(
        await runCommand(['get', NO_SUCH_ID, '--api', a.host]),
        1,
        new RegExp(`^peershare: no peer is known to hold file ${NO_SUCH_ID}\\n$`),
      );
      oneLineError(
        await runCommand(['get', '--name', 'nosuchfileanywhere', '--timeout', '0.5', '--api', a.host]),
        1,
        /no file on the network matches "nosuchfileanywhere"/,
      );
      const missing = join(tempDir(), 'missing.txt');
      oneLineError(
        await runCommand(['share', missing, '--api', a.host]),
        1,
        new RegExp(`cannot share ${missing}: ENOENT`),
      );
      const usage = await Promise.all([
        runCommand(['get', '--wait', '--bogus', '--api', a.host]),
        runCommand(['share', '--api', a.host]),
        runCommand(['search', '--api', a.host]),
        runCommand(['downloads', 'explode', 'k', '--api', a.host]),
        runCommand(['files', 'unshare', '--api', a.host]),
        runCommand(['search', 'x', '--timeout', '0', '--api', a.host]),
      ]);
      for (const r of usage) oneLineError(r, 2, /./);
    });
  });

  return network;
}
