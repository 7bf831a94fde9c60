/**
 * Loopback addresses for test peers. Each peer gets its own 127.x.y.z with the default ports,
 * like a separate host. Concurrent vitest workers draw from disjoint ranges (by pool id), and
 * successive peers in a worker get successive addresses.
 */
let counter = 0;

export function nextLoopback(): string {
  const pool = Number(process.env.VITEST_POOL_ID ?? 0) % 200;
  counter += 1;
  const pid = process.pid % 250;
  return `127.${30 + pool}.${pid}.${(counter % 250) + 2}`;
}
