/**
 * PUSH over real TLS links (feature "push"): a push for a holder follows the path its hit came
 * back on, one link at a time, and reaches that holder's connect-back handler only; a second copy
 * is dropped as a duplicate, a push with no route goes nowhere, and the requester's own limit per
 * holder holds. The connect-back itself (the holder dialling the requester) is the composition's.
 */
import { describe, expect, it } from 'vitest';
import type { Push } from '../../src/protocol/gen/wire_pb.ts';
import { createTestnet } from '../support/testnet.ts';

describe('PUSH over the overlay', () => {
  it('routes a push back along the hit path to the holder, and only there', async () => {
    // Every peer's connect-back handler records what it is handed (the counters say at which peer).
    const delivered: Push[] = [];
    const net = await createTestnet(4, 'line', { onPush: (push) => delivered.push(push) });
    await net.linked();
    const [requester, , , holder] = net.peers as [(typeof net.peers)[0], unknown, unknown, (typeof net.peers)[0]];
    holder.index.add('behind the router.bin');
    const search = requester.service.engine.search({ terms: ['router'], timeoutMs: 600 });
    await search.done;
    const hit = search.hits.find((h) => h.holderPeerId === holder.peerId)!;
    expect(hit.hops).toBe(3);

    expect(requester.service.engine.requestPush(holder.peerId, hit.fileId, `${requester.host}:7871`)).toBe(true);
    await expect.poll(() => delivered.length).toBe(1);
    expect(delivered[0]).toMatchObject({
      targetPeerId: holder.peerId,
      requesterPeerId: requester.peerId,
      requesterFilesAddress: `${requester.host}:7871`,
      fileId: hit.fileId,
    });
    // One link per hop, nothing dropped: peers 1 and 2 passed it on.
    expect(net.peers.map((p) => p.service.engine.pushCounters.forwarded)).toEqual([0, 1, 1, 0]);
    expect(net.peers.map((p) => p.service.engine.pushCounters.delivered)).toEqual([0, 0, 0, 1]);

    // A holder nobody's hits came from: no route, nothing sent.
    expect(requester.service.engine.requestPush('z'.repeat(52), hit.fileId, `${requester.host}:7871`)).toBe(false);
    expect(requester.service.engine.pushCounters.sendNoRoute).toBe(1);
    // The requester's own bound per holder per minute (default 6).
    const sent = Array.from({ length: 6 }, () =>
      requester.service.engine.requestPush(holder.peerId, hit.fileId, `${requester.host}:7871`),
    );
    expect(sent.filter(Boolean)).toHaveLength(5);
    expect(requester.service.engine.pushCounters.sendRateLimited).toBe(1);
    await expect.poll(() => delivered.length).toBe(6);
    expect(net.peers.map((p) => p.service.engine.pushCounters.delivered)).toEqual([0, 0, 0, 6]);
    // The same counts on /metrics, where the test bed reads them.
    const metrics = await (await fetch(`${holder.service.apiUrl}/metrics`)).text();
    expect(metrics).toMatch(/peershare_search_pushes_total\{[^}]*event="delivered"[^}]*\} 6/);
    expect(await (await fetch(`${requester.service.apiUrl}/metrics`)).text()).toMatch(
      /peershare_search_pushes_total\{[^}]*event="send-rate-limited"[^}]*\} 1/,
    );
  });
});
