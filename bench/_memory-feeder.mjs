// Keeps recently freed memory on hand while one benchmark run writes a large file (bench/transfer.ts).
//
// Why: this VM returns free guest memory to its host ("free page reporting": virtio-balloon,
// /sys/module/page_reporting), starting 1–2 s after the memory is freed. Memory the host has taken
// back is slow to use again: writing 1 GiB into the page cache took ~0.2 s in memory freed less than
// a second before and 0.75–2.5 s in memory freed 2 s or more before. Which of the two a run gets
// depends on timing (how long since something freed memory, what else runs), and that decided the
// transfer figures more than the programs measured did. So, for each run, this process holds
// SIZE_MIB of memory it has just written (a file in /dev/shm: shared memory, not free, so never
// reported), and while the run goes, gives it back 64 MiB at a time whenever the machine's free
// memory falls below what it was at "go" plus HEADROOM_MIB. The run then always writes into memory
// freed a moment ago, as on a machine without free page reporting, whichever side it measures.
// Result (2026-12-03, docs/PERFORMANCE.md): the references' figures stayed as with BENCH_MEMORY=warm,
// peershare's fell by ~40 %, for a reason not found; so this is BENCH_MEMORY=feed, not the default.
//
// Usage: node _memory-feeder.mjs FILE SIZE_MIB HEADROOM_MIB. Prints "ready" once the memory is
// held; reads "go" (start giving it back) and "stop" (report and exit) on stdin, and prints
// one JSON line at stop: {releasedMiB, heldMiB}. Deletes FILE whenever it exits.
import { closeSync, ftruncateSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { createInterface } from 'node:readline';

const [file, sizeArg, headroomArg] = process.argv.slice(2);
const MiB = 1024 * 1024;
const size = Number(sizeArg) * MiB;
const headroom = Number(headroomArg) * MiB;
const STEP = 64 * MiB;

const memFree = () => Number(/^MemFree:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))[1]) * 1024;

const fd = openSync(file, 'w+');
const cleanup = () => rmSync(file, { force: true });
process.on('exit', cleanup);
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));

const block = Buffer.alloc(8 * MiB, 7);
for (let off = 0; off < size; off += block.length) writeSync(fd, block, 0, Math.min(block.length, size - off), off);
let held = size;
let timer;
console.log('ready');

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line === 'go') {
    const base = memFree();
    const feed = () => {
      while (held > 0 && memFree() < base + headroom) {
        held = Math.max(0, held - STEP);
        ftruncateSync(fd, held);
      }
    };
    feed();
    timer = setInterval(feed, 10);
  } else if (line === 'stop') {
    clearInterval(timer);
    console.log(JSON.stringify({ releasedMiB: (size - held) / MiB, heldMiB: held / MiB }));
    closeSync(fd);
    process.exit(0);
  }
});
lines.on('close', () => process.exit(0));
