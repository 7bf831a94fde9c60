/** A full disk (a 4 MiB tmpfs): ENOSPC is reported, the temp file removed, and the service keeps answering. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startFilesPeer, upload } from '../support/files-peer.ts';
import { isRoot, smallDisk } from '../support/small-disk.ts';

describe.skipIf(!isRoot)('File Management on a full disk (needs root to mount a tmpfs)', () => {
  it('answers DISK_FULL, removes the partial upload, and still serves afterwards', async () => {
    const dataDir = join(smallDisk(4 * 1024 * 1024), 'data');
    const peer = await startFilesPeer({ dataDir });

    const res = await upload(peer.url, 'too-big.bin', Buffer.alloc(6 * 1024 * 1024, 1));
    expect(res.status).toBe(507);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('DISK_FULL');
    expect(readdirSync(join(dataDir, 'tmp'))).toEqual([]);
    expect(((await (await fetch(`${peer.url}/files`)).json()) as { total: number }).total).toBe(0);

    // The space came back with the temp file: a small upload now succeeds.
    const small = await upload(peer.url, 'small.txt', 'still here');
    expect(small.status).toBe(201);
    expect((await fetch(`${peer.url}/health`)).status).toBe(200);
  });
});
