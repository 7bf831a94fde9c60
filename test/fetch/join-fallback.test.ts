/** Join through a list of known peers (TEST-PLAN 19): a dead first address, and none answering at all. */
import { describe, expect, it } from 'vitest';
import type { FetchTransport } from '../../src/fetch/ports.ts';
import { converged, createFetchNet } from '../support/fetch-net.ts';
import { nextLoopback } from '../support/loopback.ts';

/** Counts sync requests per address, to see which join addresses were tried. */
function countingTransport(calls: Map<string, number>) {
  return (inner: FetchTransport): FetchTransport => ({
    sync: (address, peerId, request, signal) => {
      calls.set(address, (calls.get(address) ?? 0) + 1);
      return inner.sync(address, peerId, request, signal);
    },
    announceLeave: (address, peerId, tombstone, signal) => inner.announceLeave(address, peerId, tombstone, signal),
    askDialBack: (address, peerId, port, signal) => inner.askDialBack(address, peerId, port, signal),
    reach: (address, peerId, signal) => inner.reach(address, peerId, signal),
    close: () => inner.close(),
  });
}

describe('join addresses', () => {
  it('uses the next known peer when the first one is down', async () => {
    const dead = `${nextLoopback()}:7874`;
    const calls = new Map<string, number>();
    const net = await createFetchNet(2, {
      joinOf: (i, n) => (i === 0 ? [] : [dead, n.peers[0]!.fetchAddress]),
      wrapTransport: countingTransport(calls),
    });
    const rounds = await net.stepUntil(() => converged(net), 4);
    expect(rounds).toBeGreaterThan(0);
    expect(calls.get(dead)).toBe(1);
    expect(net.peers[1]!.service.status()).toMatchObject({ state: 'joined', failedJoinAttempts: 1 });
  });

  it('keeps serving and retrying with backoff while no join address answers, then joins when one comes up', async () => {
    const calls = new Map<string, number>();
    // The bootstrap's address is reserved now; it starts only later.
    const net = await createFetchNet(1, { wrapTransport: countingTransport(calls) });
    const bootstrap = net.peers[0]!;
    await net.kill(bootstrap);
    const joiner = await net.add([bootstrap.fetchAddress]);

    for (let r = 0; r < 12; r++) await net.step();
    const status = joiner.service.status();
    expect(status.state).toBe('joining');
    // Backoff: one attempt, then waits of 1, 2, 4 rounds... so far fewer attempts than rounds.
    expect(calls.get(bootstrap.fetchAddress)).toBeLessThanOrEqual(5);
    expect(status.failedJoinAttempts).toBe(calls.get(bootstrap.fetchAddress));
    // Serving meanwhile: its API answers.
    const health = (await (await fetch(`${joiner.service.url}/health`)).json()) as { state: string };
    expect(health.state).toBe('joining');

    await net.restart(bootstrap);
    expect(await net.stepUntil(() => converged(net), 12)).toBeGreaterThan(0);
    expect(joiner.service.status().state).toBe('joined');
  });
});
