/**
 * A peer port seen from another host (a network namespace): plaintext is closed without an
 * answer, TLS as a peer is served; from this host, plaintext is the local user's and is served.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFilesPeer } from '../support/files-peer.ts';
import { otherHost } from '../support/netns.ts';

const isRoot = process.getuid?.() === 0;
const PROBE = new URL('../support/netns-probe.ts', import.meta.url).pathname;

describe.skipIf(!isRoot)('a peer port from another host', () => {
  it('closes plaintext without answering, serves a TLS peer, and serves this host in plaintext', async () => {
    const remote = await otherHost();
    const peer = await startFilesPeer({ host: remote.hereIp });
    // Off loopback, this host's changes need the API token too (the peer made one in its data folder).
    const token = readFileSync(join(peer.dataDir, 'api-token'), 'utf8').trim();
    const posted = await fetch(`${peer.url}/files?name=remote.txt`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', authorization: `Bearer ${token}` },
      body: 'served over TLS only',
    });
    expect(posted.status).toBe(201);
    const { id } = (await posted.json()) as { id: string };
    const path = `/files/${id}/manifest`;
    const port = new URL(peer.url).port;

    const plain = JSON.parse(
      (await remote.exec(process.execPath, ['--import', 'tsx', PROBE, 'plaintext', remote.hereIp, port, path])).stdout,
    ) as { received: string };
    expect(plain.received).toBe(''); // closed before any answer: no status line, no error body

    const overTls = JSON.parse(
      (await remote.exec(process.execPath, ['--import', 'tsx', PROBE, 'tls', remote.hereIp, port, path, peer.peerId]))
        .stdout,
    ) as { status: number; peerId: string };
    expect(overTls).toEqual({ status: 200, peerId: peer.peerId });

    expect((await fetch(`${peer.url}${path}`)).status).toBe(200); // this host, in plaintext
  });
});
