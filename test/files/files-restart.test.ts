/** A restart or a crash loses nothing that was acknowledged and leaves no partial upload behind. */
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PORTS } from '../../src/shared/config.ts';
import { startFilesPeer, upload } from '../support/files-peer.ts';
import { nextLoopback } from '../support/loopback.ts';
import { spawnPeer } from '../support/peer-process.ts';
import { tempDir } from '../support/temp.ts';

describe('File Management across restarts', () => {
  it('serves every acknowledged upload after a restart on the same data directory', async () => {
    const dataDir = join(tempDir(), 'data');
    const first = await startFilesPeer({ dataDir });
    const { id } = (await (await upload(first.url, 'keep.txt', 'kept across restarts')).json()) as { id: string };
    await first.stop();

    const second = await startFilesPeer({ dataDir });
    expect(await (await fetch(`${second.url}/files/${id}/content`)).text()).toBe('kept across restarts');
  });

  it('removes a partial upload left by a process killed with SIGKILL mid-upload', async () => {
    const host = nextLoopback();
    const dataDir = join(tempDir(), 'data');
    const { child } = await spawnPeer(['service', 'files', '--host', host, '--data', dataDir]);

    const req = request({
      host,
      port: DEFAULT_PORTS.filesPort,
      method: 'POST',
      path: '/files?name=doomed.bin',
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(50 * 1024 * 1024) },
    });
    req.on('error', () => undefined);
    req.write(Buffer.alloc(2 * 1024 * 1024));
    await expect.poll(() => readdirSync(join(dataDir, 'tmp')).length).toBe(1);
    child.kill('SIGKILL');
    await once(child, 'exit');
    req.destroy();

    const restarted = await startFilesPeer({ dataDir });
    expect(readdirSync(join(dataDir, 'tmp'))).toEqual([]);
    expect(((await (await fetch(`${restarted.url}/files`)).json()) as { total: number }).total).toBe(0);
  });
});
