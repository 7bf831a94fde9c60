/**
 * sybil: the figure of issue 13 part 1 with whole peers. Five honest peers (`peershare start` as
 * `npm start` runs it, each its own process on 127.0.96.4–8, Fetch rounds every 500 ms, the
 * victim's and everyone's table cap 50 and unverified cap 100), all joined through the victim
 * (127.0.96.4). Counts are in rounds, read from the sharer's Fetch /health `round`.
 *
 * 1. Clean: SAMPLES times, peer B shares a new small file (Client API POST /shares) and the
 *    benchmark counts B's rounds until every other honest peer's Fetch lists B as a source of it
 *    (GET /sources/:fileId, polled every 100 ms).
 * 2. The attacker (this process) generates IDENTITIES fresh identities (test/support's `sybils`:
 *    an Ed25519 key, a TLS certificate and a signed record each, every record naming
 *    127.0.96.9, where nothing listens), timed. The victim's RSS is read and its peak (VmHWM)
 *    reset; then every identity announces itself to the victim (POST /sync over TLS with its own
 *    certificate), IN_FLIGHT at a time, as fast as the victim answers.
 * 3. Once a tenth of the flood is announced, B shares SAMPLES more new files one after another,
 *    each counted as in 1 (a sample that started after the flood ended is marked so).
 * 4. After the flood: the victim's peak and current RSS growth over the baseline; its admission
 *    counters (Fetch /health); the largest table and unverified store sampled every 250 ms during
 *    the flood; the fake identities in any honest peer's table (Fetch /peers).
 * BENCH_RUNS (default 1) repeats the whole scenario with fresh peers; BENCH_SYBILS (10000);
 * BENCH_SYBIL_IN_FLIGHT (32).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addressesAt, sybils, type Sybil } from '../test/support/hostile-fetch-peer.ts';
import { check, figure, median, table, type BenchResult } from './_results.ts';
import { memoryOf, peerLaunch, resetPeak, waitFor } from './_support.ts';
import { ticksOf, TICKS_PER_S } from './_transfer-conditions.ts';

const IDENTITIES = Number(process.env.BENCH_SYBILS ?? 10_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 1);
/** Shares counted per condition per run. */
const SAMPLES = 5;
const HONEST = ['127.0.96.4', '127.0.96.5', '127.0.96.6', '127.0.96.7', '127.0.96.8'];
const SYBIL_HOST = '127.0.96.9';
const VICTIM = 0;
const SHARER = 1;
const INTERVAL_MS = 500;
const CAPS = { maxPeers: 50, maxUnverified: 100 };
/** Announces in flight at once (BENCH_SYBIL_IN_FLIGHT), and identities generated at once. */
const IN_FLIGHT = Number(process.env.BENCH_SYBIL_IN_FLIGHT ?? 32);
const GENERATE_BATCH = 1_000;
/** A share not listed by every honest peer within this many of the sharer's rounds counts as not spread. */
const MAX_SPREAD_ROUNDS = 60;
const BIN = join(import.meta.dirname, '../bin/peershare.js');
const MB = 1e6;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Health {
  peerId: string;
  round: number;
  admission: {
    unverified: number;
    firewalled: number;
    refusedNew: number;
    refusedBackoff: number;
    evictedUnverified: number;
    verificationsOk: number;
    verificationsFailed: number;
    droppedAfterFailures: number;
  };
}

const fetchApi = (host: string) => `http://${host}:7874`;
const getJson = async <T>(url: string): Promise<T> => {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
};
const health = (host: string) => getJson<Health>(`${fetchApi(host)}/health`);
const peerIds = async (host: string) =>
  (await getJson<{ total: number; items: Array<{ peerId: string }> }>(`${fetchApi(host)}/peers`)).items.map(
    (p) => p.peerId,
  );
const tableSize = async (host: string) => (await getJson<{ total: number }>(`${fetchApi(host)}/peers?limit=1`)).total;

interface Network {
  children: ChildProcess[];
  ids: string[];
  victimPid: number;
}

async function startNetwork(dir: string, children: ChildProcess[], log: { text: string }): Promise<Network> {
  const launch = peerLaunch(); // as npm start runs a peer
  const start = (host: string, joinArgs: string[]) => {
    const args = [
      'start',
      '--host',
      host,
      '--data',
      join(dir, host),
      '--log-level',
      'warn',
      '--fetch-interval',
      String(INTERVAL_MS),
      '--fetch-max-peers',
      String(CAPS.maxPeers),
      '--fetch-max-unverified',
      String(CAPS.maxUnverified),
      ...joinArgs,
    ];
    const child = spawn(process.execPath, [...launch.nodeArgs, BIN, ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: launch.env,
    });
    child.stderr.on('data', (c: Buffer) => void (log.text = (log.text + c.toString('utf8')).slice(-8192)));
    children.push(child);
    return child;
  };
  const victim = start(HONEST[VICTIM]!, []);
  await waitFor(`${fetchApi(HONEST[VICTIM]!)}/health`, 1200);
  for (const host of HONEST.slice(1)) start(host, ['--join', HONEST[VICTIM]!]);
  await Promise.all(HONEST.map((h) => waitFor(`${fetchApi(h)}/health`, 1200)));
  const ids = await Promise.all(HONEST.map(async (h) => (await health(h)).peerId));
  // Until all know all: every peer's table holds the other four.
  for (let i = 0; ; i++) {
    const tables = await Promise.all(HONEST.map(peerIds));
    if (tables.every((t, k) => ids.every((id, j) => j === k || t.includes(id)))) break;
    if (i > 600) throw new Error('the honest peers did not all learn of each other within 60 s');
    await sleep(100);
  }
  return { children, ids, victimPid: victim.pid! };
}

interface Spread {
  /** The sharer's rounds from the share until the last honest peer listed it; null: not within MAX_SPREAD_ROUNDS. */
  rounds: number | null;
  seconds: number;
}

/** B shares a new 4 KiB file; count B's rounds until every other honest peer's Fetch lists B as its source. */
async function spread(net: Network, dir: string, n: number): Promise<Spread> {
  const sharer = HONEST[SHARER]!;
  const path = join(dir, `share-${n}.bin`);
  writeFileSync(path, randomBytes(4096));
  const res = await fetch(`http://${sharer}:7870/shares`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-peershare-client': 'bench' },
    body: JSON.stringify({ path }),
  });
  if (!res.ok) throw new Error(`POST /shares: HTTP ${res.status} ${await res.text()}`);
  const fileId = ((await res.json()) as { files: Array<{ id: string }> }).files[0]!.id;
  const r0 = (await health(sharer)).round;
  const t0 = performance.now();
  const waiting = new Set(HONEST.filter((_, i) => i !== SHARER));
  for (;;) {
    const listed = await Promise.all(
      [...waiting].map(async (h) =>
        (await getJson<{ sources: Array<{ peerId: string }> }>(`${fetchApi(h)}/sources/${fileId}`)).sources.some(
          (s) => s.peerId === net.ids[SHARER],
        )
          ? h
          : undefined,
      ),
    );
    const round = (await health(sharer)).round;
    for (const h of listed) if (h) waiting.delete(h);
    if (waiting.size === 0) return { rounds: round - r0, seconds: (performance.now() - t0) / 1000 };
    if (round - r0 > MAX_SPREAD_ROUNDS) return { rounds: null, seconds: (performance.now() - t0) / 1000 };
    await sleep(100);
  }
}

async function generate(count: number): Promise<{ fakes: Array<Sybil | undefined>; seconds: number }> {
  const t0 = performance.now();
  const fakes: Array<Sybil | undefined> = [];
  for (let i = 0; i < count; i += GENERATE_BATCH)
    fakes.push(...(await sybils(Math.min(GENERATE_BATCH, count - i), addressesAt(SYBIL_HOST), Date.now())));
  return { fakes, seconds: (performance.now() - t0) / 1000 };
}

interface Flood {
  /** CPU seconds (user + system) of the victim and of this process (the attacker) over the flood. */
  victimCpuS: number;
  attackerCpuS: number;
  announced: number;
  answered: Record<string, number>;
  seconds: number;
  running: boolean;
}

/** Every identity announces itself to the victim, IN_FLIGHT at once; each is dropped once it has. */
function flood(
  fakes: Array<Sybil | undefined>,
  victim: string,
  victimPid: number,
): { state: Flood; done: Promise<void> } {
  const state: Flood = { victimCpuS: 0, attackerCpuS: 0, announced: 0, answered: {}, seconds: 0, running: true };
  const t0 = performance.now();
  const victimTicks = ticksOf(victimPid);
  const attackerCpu = process.cpuUsage();
  let next = 0;
  const worker = async () => {
    while (next < fakes.length) {
      const i = next++;
      const fake = fakes[i]!;
      fakes[i] = undefined;
      let outcome: string;
      try {
        outcome = String((await fake.announce(victim)).status);
      } catch (err) {
        outcome = (err as { code?: string }).code ?? 'error';
      }
      state.answered[outcome] = (state.answered[outcome] ?? 0) + 1;
      state.announced++;
    }
  };
  const done = Promise.all(Array.from({ length: IN_FLIGHT }, worker)).then(() => {
    state.seconds = (performance.now() - t0) / 1000;
    state.victimCpuS = (ticksOf(victimPid) - victimTicks) / TICKS_PER_S;
    const used = process.cpuUsage(attackerCpu);
    state.attackerCpuS = (used.user + used.system) / 1e6;
    state.running = false;
  });
  return { state, done };
}

interface Watched {
  maxTable: number;
  maxUnverified: number;
  maxFirewalled: number;
  maxRss: number;
  /** Samples whose /peers or /health request failed (the victim did not answer). */
  failed: number;
}

/** Sample the victim's table, unverified store and RSS every 250 ms until stopped. */
function watchVictim(pid: number): { watched: Watched; stop(): Promise<void> } {
  let running = true;
  const watched: Watched = { maxTable: 0, maxUnverified: 0, maxFirewalled: 0, maxRss: 0, failed: 0 };
  const loop = (async () => {
    while (running) {
      watched.maxRss = Math.max(watched.maxRss, memoryOf(pid).rss);
      try {
        const [size, h] = await Promise.all([tableSize(HONEST[VICTIM]!), health(HONEST[VICTIM]!)]);
        watched.maxTable = Math.max(watched.maxTable, size);
        watched.maxUnverified = Math.max(watched.maxUnverified, h.admission.unverified);
        watched.maxFirewalled = Math.max(watched.maxFirewalled, h.admission.firewalled);
      } catch {
        watched.failed++;
      }
      await sleep(250);
    }
  })();
  return {
    watched,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

interface RunResult {
  clean: Spread[];
  flooded: Array<Spread & { during: boolean }>;
  generateS: number;
  flood: Flood;
  baselineRss: number;
  peakGrowth: number;
  endGrowth: number;
  maxTable: number;
  maxUnverified: number;
  maxFirewalled: number;
  fakesInTables: number;
  admission: Health['admission'];
  watchFailed: number;
}

async function oneRun(runNo: number): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), 'peershare-bench-sybil-'));
  const children: ChildProcess[] = [];
  const log = { text: '' }; // the peers' warnings, shown only if something fails
  try {
    const net = await startNetwork(dir, children, log);
    const clean: Spread[] = [];
    for (let i = 0; i < SAMPLES; i++) clean.push(await spread(net, dir, i));
    console.log(
      `  run ${runNo}: clean spreads ${clean.map((s) => `${s.rounds ?? '–'} rounds (${s.seconds.toFixed(1)} s)`).join(', ')}`,
    );

    const { fakes, seconds: generateS } = await generate(IDENTITIES);
    console.log(`  run ${runNo}: generated ${IDENTITIES} identities in ${generateS.toFixed(1)} s`);
    await sleep(2 * INTERVAL_MS);
    const pid = net.victimPid;
    const baselineRss = memoryOf(pid).rss;
    resetPeak(pid);
    const watch = watchVictim(pid);
    const f = flood(fakes, `${HONEST[VICTIM]}:7874`, pid);
    while (f.state.running && f.state.announced < IDENTITIES / 10) await sleep(50);
    const flooded: RunResult['flooded'] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const during = f.state.running;
      const s = await spread(net, dir, SAMPLES + i);
      flooded.push({ ...s, during: during && f.state.running });
    }
    await f.done;
    await sleep(2 * INTERVAL_MS);
    await watch.stop();
    const mem = memoryOf(pid);
    const victimHealth = await health(HONEST[VICTIM]!);
    const honest = new Set(net.ids);
    const tables = await Promise.all(HONEST.map(peerIds));
    const fakesInTables = tables.reduce((n, t) => n + t.filter((id) => !honest.has(id)).length, 0);
    const r: RunResult = {
      clean,
      flooded,
      generateS,
      flood: f.state,
      baselineRss,
      peakGrowth: Math.max(mem.hwm, watch.watched.maxRss) - baselineRss,
      endGrowth: mem.rss - baselineRss,
      maxTable: Math.max(watch.watched.maxTable, tables[VICTIM]!.length),
      maxUnverified: watch.watched.maxUnverified,
      maxFirewalled: watch.watched.maxFirewalled,
      fakesInTables,
      admission: victimHealth.admission,
      watchFailed: watch.watched.failed,
    };
    console.log(
      `  run ${runNo}: flood ${f.state.announced} announces in ${f.state.seconds.toFixed(1)} s (${JSON.stringify(f.state.answered)}); flooded spreads ${flooded.map((s) => `${s.rounds ?? '–'} rounds (${s.seconds.toFixed(1)} s${s.during ? '' : ', after the flood'})`).join(', ')}; ` +
        `victim RSS ${(baselineRss / MB).toFixed(1)} MB, peak +${(r.peakGrowth / MB).toFixed(1)} MB, end +${(r.endGrowth / MB).toFixed(1)} MB; admission ${JSON.stringify(r.admission)}`,
    );
    return r;
  } catch (err) {
    console.error(log.text);
    throw err;
  } finally {
    for (const child of children) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await once(child, 'exit');
      clearTimeout(killer);
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

const roundsOf = (xs: Spread[]) => xs.map((s) => s.rounds ?? MAX_SPREAD_ROUNDS + 1);

export async function run(): Promise<BenchResult> {
  console.log(
    `sybil: ${HONEST.length} whole peers on ${HONEST[0]}–${HONEST.at(-1)!.split('.').at(-1)}, Fetch rounds every ${INTERVAL_MS} ms; ${IDENTITIES} identities announced to the victim ${HONEST[VICTIM]}; ${RUNS} run(s)\n`,
  );
  const runs: RunResult[] = [];
  for (let i = 1; i <= RUNS; i++) runs.push(await oneRun(i));

  const clean = runs.flatMap((r) => roundsOf(r.clean));
  const flooded = runs.flatMap((r) => roundsOf(r.flooded));
  const ratio = median(flooded) / median(clean);
  const worstRatio = Math.max(...flooded) / median(clean);
  const notSpread = runs.flatMap((r) => [...r.clean, ...r.flooded]).filter((s) => s.rounds === null).length;
  const refused = runs.map((r) => r.admission.refusedNew + r.admission.refusedBackoff);
  const rate = runs.map((r) => r.flood.announced / r.flood.seconds);
  const mb = (xs: number[]) => xs.map((x) => x / MB);
  const peak = mb(runs.map((r) => r.peakGrowth));
  const afterFlood = runs.flatMap((r) => r.flooded).filter((s) => !s.during).length;

  console.log('');
  console.log(
    table(
      ['what', 'every run (samples in order)', 'median'],
      [
        ["a new share reaches every honest peer, clean (sharer's rounds)", clean.join(', '), String(median(clean))],
        ['the same during the flood', flooded.join(', '), String(median(flooded))],
        ['**flooded / clean** (medians)', '', ratio.toFixed(2)],
        [
          'seconds, clean / flooded',
          `${runs.flatMap((r) => r.clean.map((s) => s.seconds.toFixed(1))).join(', ')} / ${runs.flatMap((r) => r.flooded.map((s) => s.seconds.toFixed(1))).join(', ')}`,
          '',
        ],
        [
          'victim RSS before the flood (MB)',
          mb(runs.map((r) => r.baselineRss))
            .map((x) => x.toFixed(1))
            .join(', '),
          '',
        ],
        ['**victim peak RSS growth (MB)**', peak.map((x) => x.toFixed(1)).join(', '), median(peak).toFixed(1)],
        [
          'victim RSS growth at the end (MB)',
          mb(runs.map((r) => r.endGrowth))
            .map((x) => x.toFixed(1))
            .join(', '),
          '',
        ],
        [`largest victim table (cap ${CAPS.maxPeers})`, runs.map((r) => r.maxTable).join(', '), ''],
        [`largest unverified store (cap ${CAPS.maxUnverified})`, runs.map((r) => r.maxUnverified).join(', '), ''],
        [
          `largest firewalled store (proved their key inbound, address unreachable; bounded by the same cap)`,
          runs.map((r) => r.maxFirewalled).join(', '),
          '',
        ],
        ['fake identities in any honest table at the end', runs.map((r) => r.fakesInTables).join(', '), ''],
        ['refused (rate + backoff)', refused.join(', '), ''],
        ['victim admission counters', runs.map((r) => JSON.stringify(r.admission)).join('; '), ''],
        ['flood: announces answered', runs.map((r) => JSON.stringify(r.flood.answered)).join('; '), ''],
        ['flood duration (s)', runs.map((r) => r.flood.seconds.toFixed(1)).join(', '), ''],
        [
          'CPU over the flood: victim / attacker (cores)',
          runs
            .map(
              (r) =>
                `${(r.flood.victimCpuS / r.flood.seconds).toFixed(2)} / ${(r.flood.attackerCpuS / r.flood.seconds).toFixed(2)}`,
            )
            .join(', '),
          '',
        ],
        ['announces/s', rate.map((x) => x.toFixed(0)).join(', '), median(rate).toFixed(0)],
        [`generating ${IDENTITIES} identities (s)`, runs.map((r) => r.generateS.toFixed(1)).join(', '), ''],
      ],
    ),
  );

  const notes = [
    `${afterFlood} of ${flooded.length} flooded samples started or ended after the flood was over (the flood took ${runs.map((r) => r.flood.seconds.toFixed(0)).join(', ')} s).`,
    ...(runs.some((r) => r.watchFailed > 0)
      ? [
          `The victim did not answer ${runs.map((r) => r.watchFailed).join(', ')} of the 250 ms samples of its table and /health during the flood.`,
        ]
      : []),
    ...(notSpread > 0
      ? [
          `${notSpread} share(s) did not reach every honest peer within ${MAX_SPREAD_ROUNDS} rounds; counted as ${MAX_SPREAD_ROUNDS + 1}.`,
        ]
      : []),
  ];
  return {
    name: 'sybil',
    what: `With ${IDENTITIES.toLocaleString('en-US')} fresh identities announced to one honest peer, rounds for a new share to reach every honest peer (vs a clean network), the victim's table and unverified store against their caps, and the victim's RSS growth (issue 13 part 1)`,
    how: `${HONEST.length} \`peershare start\` processes (as npm start runs them) on ${HONEST.join(', ')}, --fetch-interval ${INTERVAL_MS}, --fetch-max-peers ${CAPS.maxPeers}, --fetch-max-unverified ${CAPS.maxUnverified}, the rest default, all joined through the victim ${HONEST[VICTIM]}. Peer ${HONEST[SHARER]} shares a new 4 KiB file (Client API) ${SAMPLES} times before and ${SAMPLES} times during the flood; counted in the sharer's Fetch rounds (/health round) until every other honest peer's Fetch lists it (/sources, polled every 100 ms). The attacker is this process: test/support's sybils() (Ed25519 key, TLS certificate, signed record naming ${SYBIL_HOST} where nothing listens), each announcing itself over TLS to the victim's POST /sync, ${IN_FLIGHT} in flight. Victim RSS from /proc (VmHWM reset before the flood; the growth is the peak over the RSS just before it). ${RUNS} run(s), each with fresh peers; every sample is listed.`,
    parameters: {
      identities: IDENTITIES,
      runs: RUNS,
      samples: SAMPLES,
      honestPeers: HONEST.length,
      intervalMs: INTERVAL_MS,
      maxPeers: CAPS.maxPeers,
      maxUnverified: CAPS.maxUnverified,
      inFlight: IN_FLIGHT,
    },
    figures: [
      figure('rounds for a new share to reach every honest peer, clean', 'reference', clean, 'rounds'),
      figure('the same during the flood', 'ours', flooded, 'rounds'),
      figure('flooded / clean (medians)', 'ratio', ratio, '×'),
      figure('worst flooded sample / clean median', 'info', worstRatio, '×'),
      figure('victim peak RSS growth over the RSS before the flood', 'ours', peak, 'MB'),
      figure('victim RSS growth at the end of the flood', 'info', mb(runs.map((r) => r.endGrowth)), 'MB'),
      figure(
        'largest victim table',
        'ours',
        runs.map((r) => r.maxTable),
        'peers',
        `cap ${CAPS.maxPeers}`,
      ),
      figure(
        'largest unverified store',
        'ours',
        runs.map((r) => r.maxUnverified),
        'records',
        `cap ${CAPS.maxUnverified}`,
      ),
      figure(
        'largest firewalled store',
        'info',
        runs.map((r) => r.maxFirewalled),
        'records',
        `bounded by the unverified cap ${CAPS.maxUnverified}`,
      ),
      figure(
        'fake identities in any honest table at the end',
        'ours',
        runs.map((r) => r.fakesInTables),
        'peers',
      ),
      figure('announces refused (rate + backoff)', 'info', refused, 'announces'),
      figure(
        'flood duration',
        'info',
        runs.map((r) => r.flood.seconds),
        's',
      ),
      figure('announces per second', 'info', rate, '/s'),
      figure(
        'victim CPU over the flood',
        'info',
        runs.map((r) => r.flood.victimCpuS / r.flood.seconds),
        'cores',
      ),
      figure(
        'attacker (this process) CPU over the flood',
        'info',
        runs.map((r) => r.flood.attackerCpuS / r.flood.seconds),
        'cores',
        'includes this process polling the peers',
      ),
      figure(
        `generating ${IDENTITIES} identities (this process)`,
        'info',
        runs.map((r) => r.generateS),
        's',
      ),
    ],
    checks: [
      check('share spread under the flood / clean (rounds, medians)', ratio, '×', '<=', 2),
      check('victim peak RSS growth during the flood (worst run)', Math.max(...peak), 'MB', '<=', 30),
      check(
        `largest victim table (cap ${CAPS.maxPeers})`,
        Math.max(...runs.map((r) => r.maxTable)),
        'peers',
        '<=',
        CAPS.maxPeers,
      ),
      check(
        `largest unverified store (cap ${CAPS.maxUnverified})`,
        Math.max(...runs.map((r) => r.maxUnverified)),
        'records',
        '<=',
        CAPS.maxUnverified,
      ),
      check('fake identities in any honest table', Math.max(...runs.map((r) => r.fakesInTables)), 'peers', '<=', 0),
    ],
    notes,
  };
}
