/**
 * Loopback addresses for test peers. Each peer gets its own 127.x.y.z with the default ports,
 * like a separate host. Concurrent vitest workers draw from disjoint ranges (by pool id); within
 * a range each test file (a fork of its own) starts at a random point, so two files that run one
 * after the other in the same pool do not reuse an address a peer of the first may still hold.
 * Successive peers in a file get successive addresses.
 */
import { randomInt } from 'node:crypto';
import { createServer } from 'node:net';

const start = randomInt(250 * 250);
let counter = 0;

export function nextLoopback(): string {
  const pool = Number(process.env.VITEST_POOL_ID ?? 0) % 200;
  const n = (start + counter++) % (250 * 250);
  return `127.${30 + pool}.${Math.floor(n / 250)}.${(n % 250) + 2}`;
}

/** A TCP port the system reports free on 127.0.0.1 (for a server that must bind a wildcard address). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
