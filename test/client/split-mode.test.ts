/**
 * The peershare commands against a 3-peer network where each peer is five processes, one per
 * service (`peershare service files|fetch|search|download|client`, same --host and --data), with
 * RabbitMQ queues: every scenario of command-scenarios.ts, as against peers run in one process.
 * Then what only this deployment has: a Client whose services are not running says which one is
 * down, and every service process stops cleanly on Ctrl-C. Each peer's queues are deleted at the
 * end, and none is left behind.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SERVICE_NAMES } from '../../src/peer/wiring.ts';
import { startSplitNetwork } from '../support/command-network.ts';
import { nextLoopback } from '../support/loopback.ts';
import { spawnPeer } from '../support/peer-process.ts';
import { runCommand } from '../support/run-command.ts';
import type { SplitPeer } from '../support/split-peer.ts';
import { tempDir } from '../support/temp.ts';
import { queuesLeft } from '../download/rabbit.ts';
import { commandScenarios, NETWORK_OPTIONS } from './command-scenarios.ts';

let split: SplitPeer[] = [];
let prefixes: string[] = [];

// Registered before the scenarios' teardown, so it runs after it.
afterAll(async () => {
  expect(prefixes).toHaveLength(3);
  expect(await queuesLeft(prefixes)).toEqual([]);
});

const network = commandScenarios('peershare commands, each peer five processes with RabbitMQ', async (defer) => {
  const net = await startSplitNetwork(defer, NETWORK_OPTIONS);
  ({ split, prefixes } = net);
  return net;
});

describe('peershare commands, a peer split into processes', () => {
  it('a Client whose services are not running says which one is down, and how to start it', async () => {
    const host = nextLoopback();
    await spawnPeer(['service', 'client', '--host', host, '--data', join(tempDir(), 'data')]);
    const status = await runCommand(['status', '--api', host]);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('unavailable  files, fetch, search, download (not answering)\n');
    const downloads = await runCommand(['downloads', '--api', host]);
    expect(downloads).toMatchObject({
      code: 1,
      stdout: '',
      stderr: `peershare: this peer's download service does not answer at ${host}:7875 (ECONNREFUSED); start it with: peershare service download --host ${host} (and the peer's --data)\n`,
    });
    const search = await runCommand(['search', 'anything', '--api', host]);
    expect(search).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(
        /^peershare: this peer's search service does not answer at [\d.]+:7873 \(ECONNREFUSED\);[^\n]+\n$/,
      ),
    });
  });

  it('every service of a peer stops cleanly on Ctrl-C (SIGTERM); the others notice it left, the commands that no peer answers', async () => {
    const [a, , c] = network().peers;
    const peer = split[2]!;
    // The Client first, so it can say what it sees as the others go.
    for (const name of [...SERVICE_NAMES].reverse()) expect(await peer.stopService(name), name).toBe(0);
    // Fetch said it leaves (a signed "left" record), so A forgets C rather than suspecting it.
    const known = async () =>
      (
        JSON.parse((await runCommand(['peers', '--json', '--api', a.host])).stdout) as {
          peers: Array<{ peerId: string }>;
        }
      ).peers.map((p) => p.peerId);
    await expect.poll(known, { timeout: 20_000, interval: 0 }).not.toContain(c.peerId);
    // Nothing of C runs any more: the commands say so, and how to start a peer there.
    // (Run from the clone with no `peershare` on the PATH, the command to start one is the npm script.)
    expect(
      await runCommand(['status', '--api', c.host], { PATH: '/usr/bin:/bin' }, join(import.meta.dirname, '../..')),
    ).toMatchObject({
      code: 1,
      stdout: '',
      stderr: `peershare: no peer answers at ${c.host}:7870 (ECONNREFUSED); start one with: npm run peershare -- start --host ${c.host}\n`,
    });
  });
});
