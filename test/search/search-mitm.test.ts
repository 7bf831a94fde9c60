/**
 * A relay in the middle that terminates TLS with its own key (issue 12): it accepts B's link as
 * itself, dials A as itself, and passes the link's bytes between them. Each side proves the
 * relay's id on its connection while the Hello it receives names the other peer, so both refuse
 * the link and log why; no link forms and no query passes.
 */
import { EventEmitter, once } from 'node:events';
import { pino } from 'pino';
import { describe, expect, it, onTestFinished } from 'vitest';
import { DEFAULT_PORTS } from '../../src/shared/config.ts';
import { dialPeer } from '../../src/shared/http-client.ts';
import { silentLogger } from '../../src/shared/logging.ts';
import { listenPeerPort } from '../../src/shared/peer-port.ts';
import { ALPN_LINK } from '../../src/shared/peer-tls.ts';
import { nextLoopback } from '../support/loopback.ts';
import { createTestnet, testIdentity } from '../support/testnet.ts';

interface LogLine {
  msg: string;
  [key: string]: unknown;
}

/** A logger that keeps every line and resolves the first one matching. */
function capturingLogger() {
  const lines: LogLine[] = [];
  const events = new EventEmitter<{ line: [] }>();
  const logger = pino(
    { level: 'info' },
    {
      write: (text: string) => {
        lines.push(JSON.parse(text) as LogLine);
        events.emit('line');
      },
    },
  );
  const line = async (match: RegExp): Promise<LogLine> => {
    for (;;) {
      const found = lines.find((l) => match.test(l.msg));
      if (found) return found;
      await once(events, 'line');
    }
  };
  return { logger, line };
}

describe('a relay that terminates TLS with its own key', () => {
  it('is refused by both peers, each naming the relay id its connection proved', async () => {
    const logA = capturingLogger();
    const logB = capturingLogger();
    const a = (await createTestnet(1, 'line', { logger: logA.logger })).peers[0]!;
    const b = (await createTestnet(1, 'line', { logger: logB.logger })).peers[0]!;
    a.index.add('needle.txt');

    const relay = await testIdentity();
    const relayHost = nextLoopback();
    let relayed = 0;
    const port = await listenPeerPort(relayHost, DEFAULT_PORTS.searchPort, {
      tls: relay.tls,
      alpn: [ALPN_LINK],
      logger: silentLogger(),
      onPeer: (fromB) => {
        fromB.on('error', () => undefined);
        fromB.pause();
        dialPeer(relay.tls, a.service.searchAddress, undefined, { alpn: [ALPN_LINK] }).then(
          ({ socket: toA }) => {
            relayed++;
            toA.on('error', () => undefined);
            fromB.pipe(toA).on('close', () => fromB.destroy());
            toA.pipe(fromB);
            fromB.resume();
          },
          () => fromB.destroy(),
        );
      },
    });
    onTestFinished(() => port.close());

    // B is told to link to the relay's address without an id (as with the neighbours setting).
    b.candidates = [{ searchAddress: `${relayHost}:${DEFAULT_PORTS.searchPort}` }];
    const atA = await logA.line(/^link refused: the hello claims/);
    const atB = await logB.line(/^link refused: the hello claims/);
    expect(atA.msg).toBe(
      `link refused: the hello claims peer ${b.peerId} but the TLS certificate proved ${relay.identity.peerId}`,
    );
    expect(atB.msg).toBe(
      `link refused: the hello claims peer ${a.peerId} but the TLS certificate proved ${relay.identity.peerId}`,
    );
    expect(relayed).toBeGreaterThan(0);
    expect(a.service.links.list()).toEqual([]);
    expect(b.service.links.list()).toEqual([]);
    expect(a.service.engine.counters.queriesReceived).toBe(0);
    b.candidates = [];
  });
});
