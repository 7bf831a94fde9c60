/**
 * A TCP proxy on 127.0.0.1 in front of a server, that can stall: while stalled, it accepts new
 * connections and never forwards or answers them (a peer that hangs mid-handshake, a blackholed
 * route). Connections stalled once stay stalled. Closed when the test ends.
 */
import { once } from 'node:events';
import { createServer, connect, type Socket } from 'node:net';
import { onTestFinished } from 'vitest';

export interface StallingProxy {
  port: number;
  /** New connections are held unanswered from now on; `dropAll` also cuts the open ones. */
  stall(): void;
  /** New connections are forwarded again (held ones stay held). */
  forward(): void;
  /** Cuts every forwarded connection. */
  dropAll(): void;
  /** Resolves once a connection is being held. */
  holding(): Promise<void>;
}

export async function startStallingProxy(targetPort: number): Promise<StallingProxy> {
  let stalled = false;
  const sockets = new Set<Socket>();
  const held: Socket[] = [];
  const onHold: Array<() => void> = [];
  const server = createServer((client) => {
    sockets.add(client);
    client.on('error', () => undefined);
    client.on('close', () => sockets.delete(client));
    if (stalled) {
      held.push(client);
      for (const wake of onHold.splice(0)) wake();
      return;
    }
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(upstream);
    upstream.on('error', () => client.destroy());
    upstream.on('close', () => {
      sockets.delete(upstream);
      client.destroy();
    });
    client.on('close', () => upstream.destroy());
    client.pipe(upstream).pipe(client);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onTestFinished(async () => {
    for (const s of sockets) s.destroy();
    server.close();
    await once(server, 'close');
  });
  return {
    port: (server.address() as { port: number }).port,
    stall: () => void (stalled = true),
    forward: () => void (stalled = false),
    dropAll: () => {
      for (const s of sockets) if (!held.includes(s)) s.destroy();
    },
    holding: () => (held.some((s) => !s.destroyed) ? Promise.resolve() : new Promise<void>((r) => onHold.push(r))),
  };
}
