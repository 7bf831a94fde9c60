/**
 * Plain TCP for overlay links. Outgoing connections are bound to this peer's own host, so that
 * on one machine (one 127.x address per peer) every link shows where it really comes from, as it
 * would between hosts. Nagle is off: queries and hits are small and latency is the point.
 */
import { createConnection, createServer, isIP, type Socket } from 'node:net';
import type { Listening, RawConnection, StreamTransport } from './transport.ts';

export const DEFAULT_DIAL_TIMEOUT_MS = 5_000;

/** Split "host:port" or "[v6]:port"; throws RangeError on anything else. */
export function parseAddress(address: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(address) ?? /^([^:]+):(\d{1,5})$/.exec(address);
  const port = Number(m?.[2]);
  if (!m || !m[1] || !(port >= 1 && port <= 65535)) throw new RangeError(`not a host:port address: ${address}`);
  return { host: m[1], port };
}

function ipOf(socket: Socket): string {
  const ip = socket.remoteAddress ?? '';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

export class TcpTransport implements StreamTransport {
  constructor(
    /** Our own host; outgoing connections use it as their source address unless it is a wildcard. */
    private readonly localHost: string,
    private readonly dialTimeoutMs = DEFAULT_DIAL_TIMEOUT_MS,
  ) {}

  async listen(host: string, port: number, onConnection: (c: RawConnection) => void): Promise<Listening> {
    const server = createServer({ noDelay: true }, (socket) => {
      socket.on('error', () => undefined); // the session reports errors; this only keeps them from being uncaught
      onConnection({ stream: socket, remoteIp: ipOf(socket) });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const bound = server.address();
    if (bound === null || typeof bound === 'string') throw new Error('search listener has no TCP address');
    return {
      host: bound.address,
      port: bound.port,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  }

  dial(address: string): Promise<RawConnection> {
    const { host, port } = parseAddress(address);
    const wildcard = this.localHost === '0.0.0.0' || this.localHost === '::';
    const sameFamily = isIP(host) === 0 || isIP(host) === isIP(this.localHost);
    const localAddress = !wildcard && sameFamily ? this.localHost : undefined;
    return new Promise((resolve, reject) => {
      const socket = createConnection({ host, port, noDelay: true, ...(localAddress ? { localAddress } : {}) });
      const timer = setTimeout(() => socket.destroy(new Error(`dial ${address} timed out`)), this.dialTimeoutMs);
      const fail = (err: Error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(err);
      };
      socket.once('error', fail);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.off('error', fail);
        socket.on('error', () => undefined);
        resolve({ stream: socket, remoteIp: ipOf(socket) });
      });
    });
  }
}
