import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const CONTEXT = fileURLToPath(new URL('../peer/context.ts', import.meta.url));
const CONFIG = fileURLToPath(new URL('./config.ts', import.meta.url));
const LOGGING = fileURLToPath(new URL('./logging.ts', import.meta.url));
const MiB = 2 ** 20;
/** What the heap may pass the 25 % by while a full collection marks (see the first test). */
const SLACK_MIB = 24;

interface Heap {
  /** The heap a full collection keeps: the live set. */
  keptMiB: number;
  /** The largest heap seen while garbage that outlives the young generation piles up. */
  peakMiB: number;
  fullCollections: number;
}

/**
 * A process with a peer's runtime flags (1 MiB young generation) and ~50 MiB of live objects
 * makes 300 MB of garbage that each lives through a few young collections (as a request's
 * objects do while it waits) and so is promoted to the old generation; returns the heap's peak.
 * With `peer`, it first makes a peer context with the default settings, as `peershare start` does.
 */
function pileUpGarbage(peer: boolean): Heap {
  const program = `
    import { getHeapStatistics } from 'node:v8';
    import { mkdtempSync, rmSync } from 'node:fs';
    import { tmpdir } from 'node:os';
    import { join } from 'node:path';
    import { PerformanceObserver, constants } from 'node:perf_hooks';
    if (${peer}) {
      const { createPeerContext } = await import(${JSON.stringify(CONTEXT)});
      const { loadConfig } = await import(${JSON.stringify(CONFIG)});
      const { silentLogger } = await import(${JSON.stringify(LOGGING)});
      const dataDir = mkdtempSync(join(tmpdir(), 'peershare-heap-'));
      try {
        createPeerContext(loadConfig({ flags: { dataDir } }), silentLogger());
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    }
    const live = Array.from({ length: 1_000_000 }, (_, i) => ({ i, next: null }));
    let fullCollections = 0;
    const observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) fullCollections++;
    });
    observer.observe({ entryTypes: ['gc'] });
    let peak = 0;
    const held = [];
    for (let r = 0; r < 20_000; r++) {
      held.push(Array.from({ length: 100 }, (_, i) => ({ i, r })));
      if (held.length > 300) held.shift();
      if (r % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
      peak = Math.max(peak, getHeapStatistics().used_heap_size);
    }
    await new Promise((resolve) => setImmediate(resolve));
    observer.disconnect();
    globalThis.gc();
    const kept = getHeapStatistics().used_heap_size;
    console.log(JSON.stringify({ keptMiB: kept / ${MiB}, peakMiB: peak / ${MiB}, fullCollections, live: live.length }));`;
  const run = spawnSync(
    process.execPath,
    ['--max-semi-space-size=1', '--expose-gc', '--import', 'tsx', '--input-type=module', '-e', program],
    { encoding: 'utf8', timeout: 90_000 },
  );
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as Heap;
}

describe('heap growth (the heap-growth setting)', () => {
  // The bound: 25 % of the kept heap (or V8's 8 MiB minimum step), plus what is allocated while a
  // full collection marks (V8 marks concurrently, and this program allocates without pause): 24 MiB.
  // That part grows when the cores are busy: measured 24.2 MiB over the kept heap alone, 30.8 with
  // other test files on both cores (the 25 % being 13.6), where V8's own choice reaches ~47.5.
  it('keeps a peer process within a quarter of its live heap (+ 8 MiB, + what is allocated during a collection) however much garbage is promoted', () => {
    const heap = pileUpGarbage(true);
    expect(heap.peakMiB - heap.keptMiB).toBeLessThanOrEqual(Math.max(heap.keptMiB / 4, 8) + SLACK_MIB);
    expect(heap.fullCollections, 'the garbage drove full collections').toBeGreaterThanOrEqual(2);
  }, 100_000);

  it("is what bounds it: V8's own choice lets the same garbage pile up past that bound", () => {
    const heap = pileUpGarbage(false);
    expect(heap.peakMiB - heap.keptMiB).toBeGreaterThan(Math.max(heap.keptMiB / 4, 8) + SLACK_MIB);
  }, 100_000);
});
