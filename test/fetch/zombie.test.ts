/**
 * Zombie (issue 13, part 3): an attacker keeps a killed peer's last signed record and replays it
 * every round — as an announce over TLS with its own key (refused: a peer announces only itself),
 * and inside the answers of its own Fetch endpoint, which honest peers dial once they have
 * verified it. Liveness comes only from contact with the peer itself, so the replay moves
 * nothing: the killed peer is suspected, then down, everywhere within the normal rounds, and a
 * newcomer that joins through the attacker never takes the dead peer for a member.
 * Real Fetch services and a real hostile endpoint over real TLS; rounds counted, not time.
 */
import { describe, expect, it } from 'vitest';
import type { PeerRecord } from '../../src/fetch/domain/peer-record.ts';
import { converged, createFetchNet, type NetPeer } from '../support/fetch-net.ts';
import { startHostileFetch } from '../support/hostile-fetch-peer.ts';
import { nextLoopback } from '../support/loopback.ts';

const TUNING = { intervalMs: 3_000, fanout: 3, suspectAfterRounds: 3, downAfterRounds: 5 };
/** Rounds on top of downAfterRounds for the suspicion to reach everyone (as in join-converge). */
const SPREAD = 6;

const idOf = (peer: NetPeer) => peer.service.status().peerId;
const stateAt = (peer: NetPeer, id: string) => peer.service.peers().find((p) => p.peerId === id)?.state ?? 'absent';

describe("zombie: a dead peer's record replayed", () => {
  it('a killed peer is suspected then down within the normal rounds while its record is replayed, and a newcomer never admits it', async () => {
    const net = await createFetchNet(4, { tuning: TUNING, seed: 21 });
    expect(await net.stepUntil(() => converged(net), 8)).toBeGreaterThan(0);
    const honest = net.peers.slice(0, 3);
    const killed = net.peers[3]!;
    const deadId = idOf(killed);

    // The attacker runs a Fetch endpoint of its own and gets itself verified by the honest peers.
    const attacker = await startHostileFetch(nextLoopback(), net.clock.epochMs());
    for (const peer of honest) expect((await attacker.announce(peer.fetchAddress)).status).toBe(200);
    expect(
      await net.stepUntil(() => honest.every((p) => stateAt(p, attacker.signer.peerId) === 'alive'), 4),
    ).toBeGreaterThan(0);
    // It keeps the victim's current signed record, as any peer can (every full view carries it).
    const view = (await attacker.post(honest[0]!.fetchAddress, '/sync', { from: attacker.record })).body as {
      view: { records: PeerRecord[] };
    };
    const last = view.view.records.find((r) => r.peerId === deadId)!;
    expect(last).toBeDefined();
    attacker.gossip = [last];

    await net.kill(killed);
    let refusedReplays = 0;
    let revived = 0;
    const everSuspected = new Set<number>();
    const replayRound = async () => {
      for (const peer of net.live)
        if ((await attacker.post(peer.fetchAddress, '/sync', { from: last })).status === 403) refusedReplays++;
      await net.step();
      for (const peer of honest) {
        const state = stateAt(peer, deadId);
        if (state !== 'alive') everSuspected.add(peer.i);
        else if (everSuspected.has(peer.i)) revived++;
      }
    };
    let downAfter = -1;
    for (let round = 1; round <= TUNING.downAfterRounds + SPREAD + 4; round++) {
      await replayRound();
      if (downAfter < 0 && honest.every((p) => ['down', 'absent'].includes(stateAt(p, deadId)))) downAfter = round;
    }
    const answeredBefore = attacker.answered;

    // A newcomer joins through the attacker, whose every answer carries the dead peer's record.
    const newcomer = await net.add([attacker.address]);
    const newcomerStates = new Set<string>();
    let deadAsNeighbour = 0;
    for (let round = 0; round < 20; round++) {
      await replayRound();
      newcomerStates.add(stateAt(newcomer, deadId));
      if (newcomer.service.neighbourCandidates().some((c) => c.peerId === deadId)) deadAsNeighbour++;
    }
    console.log(
      `zombie: down everywhere after ${downAfter} rounds (bound ${TUNING.downAfterRounds + SPREAD}); replays refused ${refusedReplays}; attacker answered ${attacker.answered} syncs (${answeredBefore} before the newcomer); newcomer saw the dead peer as ${[...newcomerStates].join(', ')}`,
    );

    expect(downAfter).toBeGreaterThan(0);
    expect(downAfter).toBeLessThanOrEqual(TUNING.downAfterRounds + SPREAD);
    expect(revived).toBe(0);
    expect(answeredBefore).toBeGreaterThan(0); // honest peers did take the attacker's gossip
    expect(refusedReplays).toBeGreaterThan(0); // every replayed announce: 403, not the attacker's record
    expect([...newcomerStates]).toEqual(['absent']);
    expect(deadAsNeighbour).toBe(0);
    expect(newcomer.service.status().admission.verificationsFailed).toBeGreaterThan(0); // it tried the dead peer's address itself
  }, 120_000);
});
