/**
 * Folder results on the wire (feature "folders", docs/PROTOCOL.md §7): a peer answers a query
 * with its matching shared folders only over a link whose both ends listed "folders" in their
 * Hellos. A neighbour of the release before (no such feature) gets the files alone: it would
 * take a folder for a file it cannot download.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { Hit } from '../../src/protocol/gen/wire_pb.ts';
import { FEATURE_FOLDERS, FEATURE_PUSH } from '../../src/protocol/limits.ts';
import { rawNeighbour, type RawNeighbour } from '../support/raw-neighbour.ts';
import { createTestnet } from '../support/testnet.ts';

/** Send a query for `terms` and resolve with the first Hit that answers it. */
async function ask(from: RawNeighbour, terms: string[]): Promise<Hit> {
  const id = { nonce: randomBytes(16), originPeerId: from.peerId, originAddress: `${from.host}:7872` };
  await from.send({ case: 'query', value: { id, terms, ttl: 1, hops: 0 } });
  for (;;) {
    const hit = from.received.find((m) => m.case === 'hit' && Buffer.from(m.value.queryId!.nonce).equals(id.nonce));
    if (hit?.case === 'hit') return hit.value;
    await Promise.race([
      once(from.socket, 'data'),
      from.closed.then(() => {
        throw new Error('the peer closed the link');
      }),
    ]);
  }
}

describe('folder results over links', () => {
  it(
    'go only to a neighbour that negotiated "folders"; one of the release before gets the files alone',
    { timeout: 30_000 },
    async () => {
      const net = await createTestnet(1, 'line');
      const peer = net.peers[0]!;
      const file = peer.index.add('harbour map.txt');
      const folder = { id: 'c'.repeat(64), name: 'harbour trip', size: 1234, folder: { files: 3 } };
      peer.index.entries.push(folder);

      const current = await rawNeighbour(peer.service.searchAddress);
      await current.send(current.hello({ features: [FEATURE_PUSH, FEATURE_FOLDERS] }));
      const before = await rawNeighbour(peer.service.searchAddress);
      await before.handshake(); // lists no feature, as the release before "folders" did

      const toCurrent = await ask(current, ['harbour']);
      expect(
        toCurrent.results.map((r) => ({ fileId: r.fileId, name: r.name, folder: r.folder, files: r.files })),
      ).toEqual([
        { fileId: file.id, name: file.name, folder: false, files: 0 },
        { fileId: folder.id, name: folder.name, folder: true, files: 3 },
      ]);
      const toBefore = await ask(before, ['harbour']);
      expect(toBefore.results.map((r) => r.name)).toEqual([file.name]);
    },
  );
});
