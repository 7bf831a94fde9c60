/**
 * The peershare commands, run as real processes against a real 3-peer network on 127.x
 * addresses: share on two peers, search from the third and see their hits, download by name and
 * by id with --wait, and read files, downloads, peers and status, as text and as --json.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startFullPeer } from '../support/full-peer.ts';
import { runCommand } from '../support/run-command.ts';
import { tempDir } from '../support/temp.ts';

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');
const alivePeers = async (fetchUrl: string) => ((await (await fetch(`${fetchUrl}/peers?state=alive`)).json()) as { total: number }).total;

describe('peershare commands on a 3-peer network', () => {
  it('share, search, get --wait, and list files, downloads, peers and status', { timeout: 60_000 }, async () => {
    const a = await startFullPeer();
    const b = await startFullPeer({ join: a.host });
    const c = await startFullPeer({ join: b.host });
    for (const p of [a, b, c]) await expect.poll(() => alivePeers(p.fetch), { timeout: 20_000 }).toBe(2);

    const dir = tempDir();
    const data = randomBytes(2 * 1024 * 1024 + 77);
    mkdirSync(join(dir, 'a'));
    writeFileSync(join(dir, 'a', 'Quarterly zephyr report.pdf'), data);
    writeFileSync(join(dir, 'b-zephyr-copy.pdf'), data);

    // share: a folder on A, a file by relative path on B (the command makes it absolute).
    const sharedA = await runCommand(['share', join(dir, 'a'), '--api', a.host]);
    expect(sharedA).toMatchObject({ code: 0, stderr: '' });
    const id = firstId(sharedA.stdout);
    const sharedB = await runCommand(['share', 'b-zephyr-copy.pdf', '--json', '--api', b.host], {}, dir);
    expect(JSON.parse(sharedB.stdout).files[0].id).toBe(id);

    // search from C: hits from both other peers, then the summary.
    await expect.poll(async () => (await runCommand(['search', 'zephyr', '--timeout', '1', '--api', c.host])).stdout.match(/ 1 hop| 2 hops/g)?.length ?? 0, { timeout: 20_000, interval: 0 }).toBe(2);
    const found = await runCommand(['search', 'zephyr', '--timeout', '1', '--json', '--api', c.host]);
    expect(JSON.parse(found.stdout).summary).toMatchObject({ hits: 2, peersAnswered: 2 });

    // get --name --wait on C: the file both hold, with a progress line, into the downloads folder.
    const byName = await runCommand(['get', '--name', 'zephyr', 'report', '--wait', '--api', c.host]);
    expect(byName.stderr).toMatch(/100%/);
    expect(byName.code).toBe(0);
    expect(sha256(readFileSync(byName.stdout.trim()))).toBe(sha256(data));

    // get ID --out DIR --wait --json: one JSON document, the final progress.
    const out = join(dir, 'out');
    const byId = await runCommand(['get', id, '--out', out, '--wait', '--json', '--api', c.host]);
    expect(byId.code).toBe(0);
    const done = JSON.parse(byId.stdout);
    expect(done).toMatchObject({ state: 'done', fileId: id });
    expect(done.finalPath.startsWith(out)).toBe(true);

    const [files, downloads, peers, status] = await Promise.all([
      runCommand(['files', '--api', c.host]),
      runCommand(['downloads', '--api', c.host]),
      runCommand(['peers', '--api', c.host]),
      runCommand(['status', '--api', c.host]),
    ]);
    expect(files.stdout).toContain(id);
    expect(downloads.stdout.match(/ done /g)).toHaveLength(2);
    expect(peers.stdout).toContain('2 peers known, 2 alive');
    expect(status.stdout).toMatch(/^peer +[a-z2-7]{52}\nuptime/);
    expect(status.stdout).toContain('queue       embedded');

    const statusJson = JSON.parse((await runCommand(['status', '--json'], { PEERSHARE_API: `http://${c.host}:7870` })).stdout);
    expect(statusJson).toMatchObject({ queue: 'embedded', counts: { sharedFiles: 1, knownPeers: 2, alivePeers: 2, downloads: { done: 2 } }, unavailable: [] });
    expect(JSON.parse((await runCommand(['files', '--json', '--api', c.host])).stdout).items[0].id).toBe(id);

    // unshare on A; an unknown id is one line and a non-zero exit.
    expect((await runCommand(['files', 'unshare', id, '--api', a.host])).stdout).toBe(`unshared ${id}\n`);
    const unknown = await runCommand(['get', '0'.repeat(64), '--api', a.host]);
    expect(unknown).toMatchObject({ code: 1, stdout: '', stderr: `peershare: no peer is known to hold file ${'0'.repeat(64)}\n` });
  });
});

/** The id in the first line `share` prints. */
function firstId(stdout: string): string {
  const m = /^([0-9a-f]{64}) /.exec(stdout);
  if (!m) throw new Error(`share printed no id: ${stdout}`);
  return m[1]!;
}
