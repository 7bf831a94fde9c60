/**
 * `peershare:` links through the real command against whole peers: `share` and `files` print a
 * link; `get LINK` on a peer that has joined no network fetches the file from the link's hint
 * alone and verifies it; a hint naming the wrong peer id, a size that is not the file's and a
 * hostile name each fail clearly.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { memorySigner } from '../../src/shared/keys.ts';
import { parseShareLink } from '../../src/shared/share-link.ts';
import { startFullPeer } from '../support/full-peer.ts';
import { runCommand } from '../support/run-command.ts';
import { tempDir } from '../support/temp.ts';

const MiB = 1024 * 1024;
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');
/** The links `share` or `files` printed, one per file, in order. */
const linksIn = (stdout: string) => [...stdout.matchAll(/^ {2}link: (peershare:\S+)$/gm)].map((m) => m[1]!);

/** A peer sharing one file of `size` random bytes, through `peershare share`; its printed link. */
async function sharing(size: number, name: string) {
  const holder = await startFullPeer();
  const data = randomBytes(size);
  const path = join(tempDir(), name);
  writeFileSync(path, data);
  const shared = await runCommand(['share', path, '--api', holder.host]);
  expect(shared).toMatchObject({ code: 0, stderr: '' });
  const [link] = linksIn(shared.stdout);
  return { holder, data, link: link!, peerId: holder.context.identity.peerId };
}

describe('peershare: links', () => {
  it(
    'share prints a link that a peer joined to no network downloads from its hint alone, verified; files prints it too',
    { timeout: 90_000 },
    async () => {
      const { holder, data, link, peerId } = await sharing(3 * MiB + 11, 'Lisbon tram #28 & café.mkv');
      const id = sha256(
        Buffer.concat(
          [0, 1, 2, 3].map((i) =>
            createHash('sha256')
              .update(data.subarray(i * MiB, (i + 1) * MiB))
              .digest(),
          ),
        ),
      );
      expect(link).toBe(
        `peershare:?id=${id}&name=Lisbon%20tram%20%2328%20%26%20caf%C3%A9.mkv&size=${data.length}&hint=${peerId}@${holder.host}:7871`,
      );
      const listed = await runCommand(['files', '--api', holder.host]);
      expect(listed.stdout).toMatch(
        new RegExp(`^${id} +3\\.0 MiB {2}Lisbon tram #28 & café\\.mkv\\n {2}link: peershare:`),
      );
      expect(linksIn(listed.stdout)).toEqual([link]);
      expect(
        (
          JSON.parse((await runCommand(['files', '--json', '--api', holder.host])).stdout) as {
            items: Array<{ link: string }>;
          }
        ).items[0]?.link,
      ).toBe(link);

      const newcomer = await startFullPeer(); // no --join: it knows no peer at all
      const got = await runCommand(['get', link, '--wait', '--api', newcomer.host]);
      expect(got.stderr).toMatch(/^downloading Lisbon tram #28 & café\.mkv {2}key [0-9a-f]{32}\n/);
      expect(got.code).toBe(0);
      const saved = got.stdout.trim();
      expect(saved).toBe(join(newcomer.dataDir, 'downloads', 'Lisbon tram #28 & café.mkv'));
      expect(sha256(readFileSync(saved))).toBe(sha256(data));
      // Still joined to nothing: the hint was the only way to the file.
      expect(((await (await fetch(`${newcomer.fetch}/peers`)).json()) as { total: number }).total).toBe(0);
    },
  );

  it(
    'a link whose hint names another peer id than the holder proves fails, naming both ids; nothing is downloaded',
    { timeout: 120_000 },
    async () => {
      const { holder, link, peerId } = await sharing(MiB, 'tram.bin');
      const impostorId = memorySigner().peerId;
      const forged = link.replace(`hint=${peerId}@`, `hint=${impostorId}@`);
      // Three tries, not the default eight (about 3 minutes of waiting for a source to turn up).
      const newcomer = await startFullPeer({ downloadAttempts: 3 });
      const got = await runCommand(['get', forged, '--wait', '--api', newcomer.host]);
      expect(got.code).toBe(1);
      expect(got.stdout).toBe('');
      expect(got.stderr).toContain(`expected peer ${impostorId} but the peer proved ${peerId}`);
      expect(got.stderr).toMatch(
        new RegExp(
          `peershare: download failed: .*no source left for [0-9a-f]{64}: ${impostorId}@${holder.host.replaceAll('.', '\\.')}:7871`,
        ),
      );
      expect(existsSync(join(newcomer.dataDir, 'downloads', 'tram.bin'))).toBe(false);
    },
  );

  it(
    "a link whose size is not the file's fails at once, saying both sizes; a link with a hostile name or bad id is a usage error",
    { timeout: 60_000 },
    async () => {
      const { link, data } = await sharing(MiB + 1, 'tram.bin');
      const newcomer = await startFullPeer();
      const wrongSize = link.replace(`size=${data.length}`, 'size=5');
      const got = await runCommand(['get', wrongSize, '--wait', '--api', newcomer.host]);
      expect(got.code).toBe(1);
      expect(got.stderr).toMatch(
        new RegExp(
          `peershare: download failed: file [0-9a-f]{64} is ${data.length} bytes by its verified manifest, not the 5 bytes asked for`,
        ),
      );
      expect(got.stderr).not.toMatch(/attempt \d failed/); // not retried: the manifest is proof

      expect(parseShareLink(link).ok).toBe(true);
      for (const [bad, why] of [
        [link.replace('name=tram.bin', 'name=invoice%E2%80%AEtxt.exe'), /name: invalid file name .*U\+202E/],
        [link.replace(/id=[0-9a-f]{64}/, 'id=xyz'), /id is not 64 lowercase hex/],
        [`${link}&hint=x`, /hint "x" is not peerId@host:port/],
      ] as const) {
        const r = await runCommand(['get', bad, '--api', newcomer.host]);
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(/^peershare: not a usable peershare: link: [^\n]+\n$/);
        expect(r.stderr).toMatch(why);
      }
    },
  );
});
