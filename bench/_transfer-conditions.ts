/**
 * What bench/transfer.ts controls and records around each timed run, so that its figures hold from
 * run to run and a noisy run shows as such (docs/PERFORMANCE.md, "transfer").
 *
 * Before a run: the source file is read once (it is then in the page cache, whatever ran before),
 * and the memory the run will write into is prepared as BENCH_MEMORY says:
 * - `warm` (default): write and delete a scratch file of the file's size right before the run, so
 *   that the run writes into memory freed a moment ago (this VM's host takes freed memory back
 *   1–2 s after it is freed, and memory it has taken back is slow to use again).
 * - `feed`: a helper process (bench/_memory-feeder.mjs) holds 1.5 × the file size of memory it has
 *   just written and, during the run, gives it back 64 MiB at a time, keeping about 256 MiB of
 *   just-freed memory free. Tried as a steadier `warm`; it left the references as they were but
 *   cut peershare's figure by ~40 % (docs/PERFORMANCE.md), so it is not the default.
 * - `cold`: write and delete the scratch file, then wait 8 s, by when the host has taken most of
 *   that memory back (it starts 1–2 s after memory is freed and takes ~125–250 MiB/s): runs write
 *   into memory the host must give again.
 * - `as-is`: nothing.
 * BENCH_DROP_CACHES=1 drops the page cache (`echo 3 > /proc/sys/vm/drop_caches`, as root) before each
 * run; BENCH_WARM_SOURCE=off skips reading the source file (with both, the source is read from disk).
 *
 * During a run it records: the load average at its start; the CPU time of every other user process
 * on the machine (from /proc; a process that ends before the run does is missed) and
 * the steal time, in cores; and how much free memory the host took back meanwhile (MiB, from
 * /sys/module/page_reporting/parameters/reported_kib where this kernel has it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { MiB, warmPageCache } from './_support.ts';

export type MemoryMode = 'feed' | 'warm' | 'cold' | 'as-is';
export const MEMORY_MODE = (process.env.BENCH_MEMORY ?? 'warm') as MemoryMode;
if (!['feed', 'warm', 'cold', 'as-is'].includes(MEMORY_MODE))
  throw new Error(`BENCH_MEMORY must be feed, warm, cold or as-is, not ${MEMORY_MODE}`);
export const DROP_CACHES = process.env.BENCH_DROP_CACHES === '1';
export const WARM_SOURCE = process.env.BENCH_WARM_SOURCE !== 'off';

const REPORTED = '/sys/module/page_reporting/parameters/reported_kib';
export const TICKS_PER_S = 100; // USER_HZ on Linux
const PF_KTHREAD = 0x00200000;
/** How long `cold` waits after freeing memory. */
const COLD_WAIT_MS = 8000;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** KiB of free memory reported to the host so far, or null where the kernel does not say. */
export const reportedKiB = (): number | null => (existsSync(REPORTED) ? Number(readFileSync(REPORTED, 'utf8')) : null);

/** utime + stime of a process, in ticks (NaN when it is gone). */
export function ticksOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // f[0] is field 3 (state)
    return Number(f[11]) + Number(f[12]);
  } catch {
    return NaN;
  }
}

/** Waited-for children's utime + stime of this process (curl, sync, exited helpers), in ticks. */
export function childrenTicks(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[13]) + Number(f[14]);
}

/** CPU ticks of every user process on the machine except `ours`, by pid and start time. */
function otherTicks(ours: ReadonlySet<number>): Map<string, number> {
  const ticks = new Map<string, number>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || ours.has(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(f[6]) & PF_KTHREAD) continue;
      ticks.set(`${pid}/${f[19]}`, Number(f[11]) + Number(f[12]));
    } catch {
      /* exited meanwhile */
    }
  }
  return ticks;
}

/** CPU the other processes used between two snapshots: those alive at the end (a process that ended meanwhile is missed). */
function otherDelta(before: Map<string, number>, after: Map<string, number>): number {
  let sum = 0;
  for (const [key, t] of after) sum += t - (before.get(key) ?? 0);
  return sum;
}

function stealTicks(): number {
  return Number(readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/)[8] ?? 0);
}

/** The machine around one timed run. */
export interface Conditions {
  load1: number;
  /** Other user processes' CPU during the run, in cores (of 2 here). */
  othersCores: number;
  stealCores: number;
  /** MiB of free memory the host took back during the run; null where the kernel does not say. */
  reclaimedMiB: number | null;
  /** CPU per MiB moved of each process named in `watch`, in ms. */
  cpuMsPerMiB: Record<string, number>;
}

/** A recording of one run: `add` a process that starts during it, `end` when the run is over. */
export interface Recording {
  add(name: string, pid: number): void;
  end(): Conditions;
}

/** Start recording a run that moves `sizeMiB`; `watch` names our processes (a pid, or 'children': this process's waited-for children). */
export function record(watch: Record<string, number | 'children' | undefined>, sizeMiB: number): Recording {
  const watched = new Map<string, number | 'children'>(
    Object.entries(watch).filter((e): e is [string, number | 'children'] => e[1] !== undefined),
  );
  const ours = new Set<number>([
    process.pid,
    ...[...watched.values()].filter((p): p is number => typeof p === 'number'),
  ]);
  const tick = (p: number | 'children') =>
    p === 'children' ? childrenTicks() : p === process.pid ? cpuTicksSelf() : ticksOf(p);
  const load1 = loadavg()[0]!;
  const t0 = performance.now();
  const r0 = reportedKiB();
  const s0 = stealTicks();
  const o0 = otherTicks(ours);
  const w0 = new Map([...watched].map(([k, p]) => [k, tick(p)]));
  return {
    add(name, pid) {
      watched.set(name, pid);
      ours.add(pid);
      w0.set(name, 0); // started during the run: all its CPU is the run's
    },
    end() {
      const w1 = new Map([...watched].map(([k, p]) => [k, tick(p)]));
      const o1 = otherTicks(ours);
      const seconds = (performance.now() - t0) / 1000;
      const r1 = reportedKiB();
      return {
        load1,
        othersCores: otherDelta(o0, o1) / TICKS_PER_S / seconds,
        stealCores: (stealTicks() - s0) / TICKS_PER_S / seconds,
        reclaimedMiB: r0 === null || r1 === null ? null : (r1 - r0) / 1024,
        cpuMsPerMiB: Object.fromEntries(
          [...watched.keys()].map((k) => [k, ((w1.get(k)! - w0.get(k)!) * (1000 / TICKS_PER_S)) / sizeMiB]),
        ),
      };
    },
  };
}

function cpuTicksSelf(): number {
  const u = process.cpuUsage();
  return ((u.user + u.system) / 1e6) * TICKS_PER_S;
}

/** Read `file` once (into one reused buffer), so that it is in the page cache. */
export function readThrough(file: string): void {
  const buf = Buffer.allocUnsafe(8 * MiB);
  const fd = openSync(file, 'r');
  try {
    while (readSync(fd, buf, 0, buf.length, null) > 0);
  } finally {
    closeSync(fd);
  }
}

/**
 * Wait (at most `maxMs`) until the other processes on the machine use less than `cores` of CPU over
 * one second; `ours` are the benchmark's own processes. Returns how long it waited (ms).
 */
export async function waitForQuiet(
  ours: Record<string, number | undefined>,
  cores: number,
  maxMs: number,
): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < maxMs) {
    const rec = record(ours, 1);
    await sleep(1000);
    if (rec.end().othersCores < cores) break;
  }
  return performance.now() - t0;
}

/** What a run does right before its clock starts and right after it stops. */
export interface Prepared {
  /** Our helper process, if the preparation runs one (its CPU is not "others'"). */
  pid?: number;
  /** Call just before the timed part. */
  go(): void;
  /** Call when the timed part is over: releases what the preparation holds. */
  done(): Promise<void>;
}

/**
 * Prepare one run that writes `sizeMiB` into `scratchDir`'s file system after reading `source`:
 * drop caches if asked, read the source, then prepare memory as MEMORY_MODE says.
 */
export async function prepareRun(source: string, scratchDir: string, sizeMiB: number): Promise<Prepared> {
  if (DROP_CACHES) writeFileSync('/proc/sys/vm/drop_caches', '3');
  if (WARM_SOURCE) readThrough(source);
  if (MEMORY_MODE === 'warm') warmPageCache(scratchDir, sizeMiB);
  if (MEMORY_MODE === 'cold') {
    warmPageCache(scratchDir, sizeMiB);
    await sleep(COLD_WAIT_MS);
  }
  if (MEMORY_MODE !== 'feed') return { go: () => undefined, done: async () => undefined };
  const feeder = await startFeeder(Math.ceil(sizeMiB * 1.5), 256);
  return {
    pid: feeder.child.pid!,
    go: () => feeder.child.stdin!.write('go\n'),
    done: async () => {
      if (feeder.child.exitCode === null) {
        feeder.child.stdin!.write('stop\n');
        await once(feeder.child, 'exit');
      }
      feeder.lines.close();
    },
  };
}

async function startFeeder(sizeMiB: number, headroomMiB: number): Promise<{ child: ChildProcess; lines: Interface }> {
  const file = join('/dev/shm', `peershare-bench-feeder-${process.pid}`);
  const child = spawn(
    process.execPath,
    [join(import.meta.dirname, '_memory-feeder.mjs'), file, String(sizeMiB), String(headroomMiB)],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout });
  const [line] = (await Promise.race([once(lines, 'line'), once(child, 'exit').then(() => ['exited'])])) as string[];
  if (line !== 'ready') throw new Error(`the memory feeder did not start (${line})`);
  return { child, lines };
}
