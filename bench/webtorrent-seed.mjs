/**
 * The seeding side of bench/transfer.ts's WebTorrent reference: `node webtorrent-seed.mjs FILE`
 * seeds FILE in place (1 MiB pieces, like peershare's chunks; hashing it is not timed), then
 * prints one JSON line { port, torrent (base64), version } and serves until it is killed.
 */
import { fail, isolatedClient, report } from './_webtorrent.mjs';

try {
  const file = process.argv[2];
  if (!file) throw new Error('usage: webtorrent-seed.mjs FILE');
  const { client, version } = await isolatedClient();
  client.seed(file, { announce: [], announceList: [], urlList: [], pieceLength: 1024 * 1024 }, (torrent) => {
    torrent.on('error', fail);
    report({ port: client.torrentPort, torrent: Buffer.from(torrent.torrentFile).toString('base64'), version });
  });
  process.on('SIGTERM', () => client.destroy(() => process.exit(0)));
} catch (err) {
  fail(err);
}
