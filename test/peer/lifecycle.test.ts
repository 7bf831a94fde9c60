/** Starting and stopping a peer: nothing left behind in-process, and the command stops cleanly on a signal. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { get, request } from 'node:http';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PORTS } from '../../src/shared/config.ts';
import { startFilesPeer } from '../support/files-peer.ts';
import { nextLoopback } from '../support/loopback.ts';
import { spawnPeer } from '../support/peer-process.ts';
import { tempDir } from '../support/temp.ts';

const BIN = join(import.meta.dirname, '../../bin/peershare.js');

/** GET a URL without keep-alive, so the client side keeps no socket open. */
function getOnce(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (res) => {
      let data = '';
      res.setEncoding('utf8').on('data', (c: string) => (data += c));
      res.on('end', () => resolve(data));
    }).on('error', reject);
  });
}

function postOnce(url: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', agent: false, headers: { 'content-type': 'application/octet-stream' } },
      (res) => {
        res.resume().on('end', () => resolve(res.statusCode!));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function resourceCounts(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) counts[r] = (counts[r] ?? 0) + 1;
  return counts;
}

const openFds = () => readdirSync('/proc/self/fd').length;

function refused(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

describe('peer lifecycle', () => {
  it('leaves no socket, timer or file handle behind when the files service stops', async () => {
    const resourcesBefore = resourceCounts();
    const fdsBefore = openFds();
    const peer = await startFilesPeer();
    expect(await postOnce(`${peer.url}/files?name=a.txt`, 'hello')).toBe(201);
    const list = JSON.parse(await getOnce(`${peer.url}/files`)) as { items: Array<{ id: string }> };
    expect(await getOnce(`${peer.url}/files/${list.items[0]!.id}/content`)).toBe('hello');
    await peer.stop();
    // libuv releases closed handles a few loop turns after their close callbacks have run.
    await expect.poll(resourceCounts).toEqual(resourcesBefore);
    expect(openFds()).toBe(fdsBefore);
    expect(await refused(peer.host, DEFAULT_PORTS.filesPort)).toBe(true);
  });

  it('runs as a command, prints its peer id, and exits 0 on SIGTERM, releasing its port', async () => {
    const host = nextLoopback();
    const { child, stderr } = await spawnPeer(['start', '--host', host, '--data', join(tempDir(), 'data')]);
    expect(stderr()).toMatch(/peershare peer [a-z2-7]{52}/);
    const health = JSON.parse(await getOnce(`http://${host}:${DEFAULT_PORTS.filesPort}/health`)) as { status: string };
    expect(health.status).toBe('ok');

    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
    expect(await refused(host, DEFAULT_PORTS.filesPort)).toBe(true);
  });

  it('refuses a bad setting with one line naming it and a non-zero exit', async () => {
    const child = spawn(process.execPath, [BIN, 'start', '--files-port', '99999', '--data', join(tempDir(), 'data')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const [code] = await once(child, 'exit');
    expect(code).not.toBe(0);
    expect(stderr).toBe(
      'peershare: invalid filesPort (--files-port): expected an integer from 0 to 65535, got "99999"\n',
    );
  });
});
