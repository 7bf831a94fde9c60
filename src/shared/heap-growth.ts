/**
 * How far V8's JavaScript heap may grow past what the last full garbage collection kept before
 * the next one: the peer's `heap-growth` setting, for the whole process.
 *
 * A peer runs with a 1 MiB young generation (npm start's `--max-semi-space-size=1`), so whatever
 * a request holds for longer than a couple of young collections — its socket, parser, request
 * and answer objects, while it waits its turn — is moved to the old generation and stays there
 * as garbage until a full collection. V8 chooses how far the heap grows before that itself, from
 * how fast it collects, up to 4× the live heap on a host with plenty of memory: under a flood of
 * 10,000 Sybil announces a peer that keeps ~30 MB grew to ~120 MB before its next full
 * collection (docs/PERFORMANCE.md, "Sybil flood"). A fixed percentage bounds that growth
 * whatever the traffic, for a full collection more often; V8 still grows by at least 8 MiB.
 */
import { setFlagsFromString } from 'node:v8';

/** The default: the heap grows by a quarter of what the last full collection kept (or 8 MiB) before the next. */
export const HEAP_GROWTH_PERCENT = 25;

/** Let the heap grow `percent` % past what the last full collection kept before the next; 0 leaves it to V8. */
export function limitHeapGrowth(percent: number): void {
  // V8 reads this flag each time it sets the limit for the next full collection, so setting it in
  // a running process takes effect at the next one (node's caveat about changing flags after
  // start is for flags read once); 0 is V8's own "unset", its dynamic factor.
  setFlagsFromString(`--heap-growing-percent=${percent}`);
}
