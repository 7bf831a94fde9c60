/** A stopped Fetch service leaves no socket, timer or file handle behind, whether it ran rounds on its timer or on demand. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HttpFetchTransport } from '../../src/fetch/adapters/http/http-transport.ts';
import { SqlitePeerStore } from '../../src/fetch/adapters/sqlite/sqlite-peer-store.ts';
import { createFetchService } from '../../src/fetch/service.ts';
import { MemoryFileFeed } from '../support/memory-file-feed.ts';
import { memorySigner } from '../../src/shared/keys.ts';
import { PeerTls } from '../../src/shared/peer-tls.ts';
import { silentLogger } from '../../src/shared/logging.ts';
import { createFetchNet } from '../support/fetch-net.ts';
import { nextLoopback } from '../support/loopback.ts';
import { tempDir } from '../support/temp.ts';

function resourceCounts(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) counts[r] = (counts[r] ?? 0) + 1;
  return counts;
}

/** Sockets, servers, file handles...: everything but timers, which vitest itself starts and ends. */
function handles(): Record<string, number> {
  const { Timeout: _, ...rest } = resourceCounts();
  return rest;
}

const timers = () => resourceCounts().Timeout ?? 0;

const openFds = () => readdirSync('/proc/self/fd').length;

describe('fetch service lifecycle', () => {
  it('leaves nothing behind after peers that synced over HTTP (TLS) stop (with and without leave)', async () => {
    const [handlesBefore, timersBefore] = [handles(), timers()];
    const fds = openFds();
    const net = await createFetchNet(3, { teardown: false });
    for (let r = 0; r < 3; r++) await net.step();
    await net.kill(net.peers[2]!);
    await net.peers[1]!.service.stop(); // announces leave to peer 0
    net.peers[1]!.running = false;
    await net.stop();
    await expect.poll(handles).toEqual(handlesBefore);
    await expect.poll(timers).toBeLessThanOrEqual(timersBefore);
    await expect.poll(openFds).toBe(fds);
  });

  it('runs its first round at once on its own timer, and clears the next one on stop, even while still trying to join', async () => {
    const handlesBefore = handles();
    const host = nextLoopback();
    const identity = memorySigner();
    const tls = new PeerTls(identity);
    const service = createFetchService({
      identity,
      tls,
      logger: silentLogger(),
      host,
      port: 7874,
      addresses: { files: `${host}:7871`, search: `${host}:7872` },
      join: [nextLoopback()], // nobody there: port 7874 by default, refused
      intervalMs: 30_000, // a timer left behind would outlive the poll below
      fanout: 3,
      store: new SqlitePeerStore(join(tempDir(), 'fetch.db')),
      transport: new HttpFetchTransport({ tls }),
      files: new MemoryFileFeed(),
    });
    await service.start();
    await expect.poll(() => service.status().failedJoinAttempts, { timeout: 5_000 }).toBe(1);
    expect(service.status()).toMatchObject({ state: 'joining', round: 1 });
    // One more turn of the event loop, so the round has ended and the next one waits on the timer.
    await new Promise(setImmediate);
    const timersWhileRunning = timers();
    await service.stop();
    const roundsAtStop = service.status().round;
    await expect.poll(handles).toEqual(handlesBefore);
    // vitest's own timers come and go, so a baseline cannot show ours was cleared: the count must drop.
    expect(timers()).toBeLessThan(timersWhileRunning);
    expect(service.status()).toMatchObject({ state: 'stopped', round: roundsAtStop });
  });

  it('releases everything when start fails (its address is taken)', async () => {
    const net = await createFetchNet(1);
    const handlesBefore = handles();
    const host = net.peers[0]!.host;
    const identity = memorySigner();
    const tls = new PeerTls(identity);
    const clash = createFetchService({
      identity,
      tls,
      logger: silentLogger(),
      host,
      port: 7874,
      addresses: { files: `${host}:7871`, search: `${host}:7872` },
      join: [],
      intervalMs: 1_000,
      fanout: 3,
      store: new SqlitePeerStore(join(tempDir(), 'fetch.db')),
      transport: new HttpFetchTransport({ tls }),
      files: new MemoryFileFeed(),
    });
    await expect(clash.start()).rejects.toMatchObject({ code: 'EADDRINUSE' });
    await clash.stop();
    await expect.poll(handles).toEqual(handlesBefore);
  });
});
