/** What several benchmarks share: a test file of random data, waiting for a service, and a process's RSS. */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const MiB = 1024 * 1024;

/**
 * Write `sizeMiB` MiB of random-looking data (8 MiB blocks, each made unique) to `path`, and
 * fsync it: otherwise the kernel writes it back during the first measured run, which then
 * competes for the disk with its own writes (the first run of a benchmark came out slowest).
 */
export function makeFile(path: string, sizeMiB: number): void {
  const block = randomBytes(8 * MiB);
  const fd = openSync(path, 'w');
  for (let i = 0; i < sizeMiB / 8; i++) {
    block.writeUInt32LE(i, 0);
    writeSync(fd, block);
  }
  fsyncSync(fd);
  closeSync(fd);
}

/** Resolve once `url` answers 2xx; reject after `attempts` tries 50 ms apart. */
export async function waitFor(url: string, attempts = 300): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} did not come up`);
}

/** Current and peak RSS of a process, in bytes (from /proc). */
export function memoryOf(pid: number): { rss: number; hwm: number } {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) * 1024;
  return { rss: kib('VmRSS'), hwm: kib('VmHWM') };
}

/** Reset a process's peak RSS (VmHWM) to its current RSS. */
export function resetPeak(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}

/**
 * How `npm start` runs a peer: the environment variables and node options its script sets before
 * `bin/peershare.js`, read from package.json so the memory figures measure what the README runs.
 */
export function peerLaunch(): { env: NodeJS.ProcessEnv; nodeArgs: string[] } {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    scripts: { start: string };
  };
  const words = pkg.scripts.start.split(/\s+/);
  const env: NodeJS.ProcessEnv = {};
  let i = 0;
  for (; i < words.length && /^[A-Z_]+=/.test(words[i]!); i++) {
    const [name, value] = words[i]!.split('=', 2) as [string, string];
    env[name] = value;
  }
  if (words[i] !== 'node') throw new Error(`npm start does not run node: ${pkg.scripts.start}`);
  const nodeArgs = words.slice(i + 1, words.indexOf('bin/peershare.js'));
  return { env: { ...process.env, ...env }, nodeArgs };
}

/**
 * Write `sizeMiB` MiB to a scratch file in `dir` and delete it, so that the memory the next
 * measured run puts its written file in has just been used. On this VM memory that the guest
 * has not touched for a while is slow to take (the first 1 GiB written after a pause cost
 * ~3.5 ms of system time per MiB, the next 0.45), and without this the side measured first
 * would pay for it.
 */
export function warmPageCache(dir: string, sizeMiB: number): void {
  const path = join(dir, `.warm-${process.pid}`);
  const block = Buffer.alloc(8 * MiB, 1);
  const fd = openSync(path, 'w');
  try {
    for (let i = 0; i < sizeMiB / 8; i++) writeSync(fd, block);
  } finally {
    closeSync(fd);
    rmSync(path, { force: true });
  }
}
