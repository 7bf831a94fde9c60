/**
 * The Client run alone (`peershare service client`), as in the one-process-per-service
 * deployment: it reaches File Management, Search, Fetch and Download of its peer over their
 * HTTP APIs, and the commands behave as against a whole peer.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createPeerContext, startPeer } from '../../src/peer/wiring.ts';
import { loadConfig } from '../../src/shared/config.ts';
import { silentLogger } from '../../src/shared/logging.ts';
import { startFullPeer } from '../support/full-peer.ts';
import { nextLoopback } from '../support/loopback.ts';
import { BIN, runCommand } from '../support/run-command.ts';
import { tempDir } from '../support/temp.ts';

describe('the Client service run alone', () => {
  it('drives the other services of its peer over HTTP', { timeout: 40_000 }, async () => {
    const host = nextLoopback();
    const dataDir = join(tempDir(), 'data');
    const peer = await startPeer(
      createPeerContext(loadConfig({ flags: { host, dataDir, fetchInterval: '200' } }), silentLogger()),
      ['files', 'fetch', 'search', 'download'],
    );
    onTestFinished(() => peer.stop());
    // Another whole peer, to download from: a peer is no source of its own downloads.
    const other = await startFullPeer({ join: host });

    const child = spawn(
      process.execPath,
      [BIN, 'service', 'client', '--host', host, '--data', dataDir, '--log-level', 'warn'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const exited = once(child, 'exit');
    onTestFinished(async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    await expect.poll(() => stderr, { timeout: 20_000 }).toContain('Ctrl-C stops it');
    expect(stderr).toContain(`client API   http://${host}:7870`);

    const file = join(tempDir(), 'solo-kestrel.txt');
    writeFileSync(file, 'a file shared through a Client that runs alone\n');
    const shared = await runCommand(['share', file, '--json', '--api', host]);
    const id = (JSON.parse(shared.stdout) as { files: Array<{ id: string }> }).files[0]!.id;

    const [search, status] = await Promise.all([
      runCommand(['search', 'kestrel', '--timeout', '0.3', '--api', host]),
      runCommand(['status', '--json', '--api', host]),
    ]);
    expect(search.stdout).toMatch(
      new RegExp(`^solo-kestrel\\.txt +\\d+ B  1 holder  0 hops\\n  id ${id}\\n1 file: 1 hit from 1 peer`),
    );
    expect(JSON.parse(status.stdout)).toMatchObject({
      peerId: peer.context.identity.peerId,
      queue: 'embedded',
      counts: { sharedFiles: 1 },
      unavailable: [],
    });

    // Our own file is found by search, but this peer is no source of its own downloads.
    const own = await runCommand(['get', id, '--out', tempDir(), '--api', host]);
    expect(own).toMatchObject({ code: 1, stdout: '' });
    expect(own.stderr).toContain(`no verified peer is known to hold file ${id} (only this peer itself shares it`);

    // The other peer's file, once our Fetch knows it holds it: progress over SSE.
    const theirs = join(tempDir(), 'solo-kestrel-2.txt');
    writeFileSync(theirs, 'a file of the other peer\n');
    const theirId = (
      JSON.parse((await runCommand(['share', theirs, '--json', '--api', other.host])).stdout) as {
        files: Array<{ id: string }>;
      }
    ).files[0]!.id;
    await expect
      .poll(
        async () =>
          ((await (await fetch(`http://${host}:7874/sources/${theirId}`)).json()) as { sources: unknown[] }).sources
            .length,
        { timeout: 20_000 },
      )
      .toBe(1);
    const got = await runCommand(['get', theirId, '--out', tempDir(), '--wait', '--api', host]);
    expect(got.stderr).toContain('100%');
    expect(got.code).toBe(0);
    expect((await runCommand(['downloads', '--api', host])).stdout).toMatch(/ done .*solo-kestrel-2\.txt/);
  });
});
