/**
 * What someone on the path between two peers sees: tcpdump records every packet to and from one
 * of two whole peers while one joins the other, searches it for a rare word and downloads a 100 MiB
 * file from it. The capture holds none of the file's bytes, its name or the search word. To show
 * the capture would have caught them, the test itself then fetches part of the file in plaintext
 * from one peer's address to the other's (a local caller, as this host may), and that does show up.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { upload } from '../support/files-peer.ts';
import { startFullPeer } from '../support/full-peer.ts';
import { perTest } from '../support/teardown.ts';
import { tempDir } from '../support/temp.ts';

const json = async <T>(r: Response | Promise<Response>): Promise<T> => (await (await r).json()) as T;
const isRoot = process.getuid?.() === 0;

function aptInstallTcpdump(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('apt-get', ['install', '-y', '-qq', 'tcpdump'], {
      stdio: 'ignore',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`apt-get install tcpdump exited with ${code}`)),
    );
  });
}

/**
 * tcpdump on loopback for every packet to or from `host`, written whole to `file`; resolves once
 * it listens. (The other peer's connections may leave from 127.0.0.1 rather than its own address,
 * so the filter is one host.)
 */
async function capture(host: string, file: string): Promise<() => Promise<void>> {
  if (!existsSync('/usr/bin/tcpdump') && !existsSync('/usr/sbin/tcpdump')) await aptInstallTcpdump();
  const child = spawn(
    'tcpdump',
    ['-i', 'lo', '-s', '0', '-B', '65536', '--immediate-mode', '-U', '-w', file, `host ${host}`],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    child.kill('SIGINT');
    await exited;
  };
  perTest(stop);
  let err = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      err += chunk;
      if (err.includes('listening on')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`tcpdump exited (${code}): ${err}`)));
  });
  return stop;
}

/** A plaintext GET from `fromHost` (a local caller of the peer: same machine), its body discarded. */
function plaintextGet(url: string, fromHost: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { localAddress: fromHost, headers, agent: false }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('error', reject);
    req.end();
  });
}

describe.skipIf(!isRoot)('links between peers seen from the path', () => {
  it('carry no file bytes, names or search words in clear', async () => {
    const a = await startFullPeer();
    const b = await startFullPeer({ join: a.host });
    const word = `zyzzogeton${randomBytes(4).toString('hex')}`;
    const name = `${word} lecture.bin`;
    const data = randomBytes(100 * 1024 * 1024);
    const posted = await json<{ id: string }>(upload(a.files, name, data)); // in clear from this test, before the capture
    const pcap = join(tempDir(), 'lo.pcap');
    const stopCapture = await capture(a.host, pcap);

    // Gossip: B learns that A holds the file; search: B finds it by the rare word over the link.
    await expect
      .poll(async () => (await json<{ sources: unknown[] }>(fetch(`${b.fetch}/sources/${posted.id}`))).sources.length, {
        timeout: 30_000,
      })
      .toBe(1);
    await expect
      .poll(
        async () =>
          (await json<{ hits: unknown[] }>(fetch(`${b.search}/search?q=${word}&wait=1&timeout=1500`))).hits.length,
        { timeout: 30_000 },
      )
      .toBe(1);
    const queued = await json<{ key: string }>(
      fetch(`${b.download}/downloads`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ fileId: posted.id, name: 'lecture.bin' }),
      }),
    );
    await expect
      .poll(
        async () =>
          (await json<Array<{ key: string; state: string }>>(fetch(`${b.download}/downloads`))).find(
            (d) => d.key === queued.key,
          )?.state,
        {
          timeout: 120_000,
          interval: 500,
        },
      )
      .toBe('done');
    await stopCapture();

    const seen = readFileSync(pcap);
    expect(seen.length).toBeGreaterThan(data.length); // the whole transfer was captured
    const samples = [0, 1, 17, 42, 63, 99].map((mib) =>
      data.subarray(mib * 1024 * 1024 + 4096, mib * 1024 * 1024 + 4096 + 64),
    );
    for (const sample of samples) expect(seen.indexOf(sample)).toBe(-1);
    expect(seen.indexOf(Buffer.from(word))).toBe(-1);
    expect(seen.indexOf(Buffer.from(posted.id))).toBe(-1);

    // The control: the same capture does see bytes sent in clear between the two addresses.
    const control = join(tempDir(), 'control.pcap');
    const stopControl = await capture(a.host, control);
    const offset = 17 * 1024 * 1024 + 4096;
    expect(
      await plaintextGet(`${a.files}/files/${posted.id}/content`, b.host, {
        range: `bytes=${offset}-${offset + 65_535}`,
      }),
    ).toBe(206);
    // tcpdump writes each packet as it handles it (-U), but SIGINT ends it without handling what
    // is still queued: on a busy machine that was the whole answer. Stop once the answer is in.
    await expect.poll(() => statSync(control).size, { timeout: 30_000, interval: 100 }).toBeGreaterThan(65_536);
    await stopControl();
    expect(readFileSync(control).indexOf(samples[2]!)).toBeGreaterThan(-1);
  }, 240_000);
});
