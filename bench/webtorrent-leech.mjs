/**
 * The downloading side of bench/transfer.ts's WebTorrent reference:
 * `node webtorrent-leech.mjs OUT_DIR HOST:PORT` reads the torrent (base64) on stdin, adds it with
 * OUT_DIR as its store, adds the seeder as its only peer and downloads every piece (SHA-1
 * verified) to disk. Timing starts at client.add, once WebTorrent is loaded and listening; it
 * stops at 'done' (`seconds`) and again once every file is fsync'd (`secondsSynced`, the
 * durability peershare gives). Prints one JSON line { seconds, secondsSynced, bytes } and exits.
 */
import { openSync, fsyncSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { fail, isolatedClient, report } from './_webtorrent.mjs';

try {
  const [outDir, peer] = process.argv.slice(2);
  if (!outDir || !peer) throw new Error('usage: webtorrent-leech.mjs OUT_DIR HOST:PORT < torrent.b64');
  const torrentFile = Buffer.from((await text(process.stdin)).trim(), 'base64');
  const { client } = await isolatedClient();
  const t0 = performance.now();
  client.add(torrentFile, { path: outDir, announce: [] }, (torrent) => {
    torrent.on('error', fail);
    const finish = () => {
      const done = performance.now();
      for (const file of torrent.files) {
        const fd = openSync(join(outDir, file.path), 'r+');
        fsyncSync(fd);
        closeSync(fd);
      }
      const synced = performance.now();
      report({
        seconds: (done - t0) / 1000,
        secondsSynced: (synced - t0) / 1000,
        bytes: torrent.length,
        received: torrent.received,
      });
      client.destroy(() => process.exit(0));
    };
    if (torrent.done) finish();
    else torrent.once('done', finish);
    torrent.addPeer(peer);
  });
} catch (err) {
  fail(err);
}
