/** The markdown table `npm run sim -- fetch` prints (and docs/SCALE.md shows), one row per run. */
import type { FetchMeasure, PhaseTraffic } from './fetch-sim.ts';

const rounds = (r: number | null, max: number) => (r === null ? `> ${max}` : String(r));
const kib = (bytes: number) => (bytes / 1024).toFixed(1);
const traffic = (t: PhaseTraffic) => `${kib(t.bytesPerPeerRound)} (${t.requestsPerPeerRound.toFixed(1)})`;

export function fetchMarkdownTable(rows: readonly FetchMeasure[], maxRounds: number): string {
  const header =
    '| peers | seed | rounds until all know all | joining: KiB per peer per round (requests) | steady: KiB per peer per round (requests) | new peer: rounds until known by all / until it knows all | new file: rounds until listed by 50 % / 90 % / all | news phase: KiB per peer per round | heap per peer (per table entry) | wall s |';
  const lines = rows.map((m) => {
    const file = `${rounds(m.newFileHalfRounds, maxRounds)} / ${rounds(m.newFile90Rounds, maxRounds)} / ${m.newFileRounds === null ? `> ${maxRounds} (${m.newFileKnownBy} of ${m.peers})` : m.newFileRounds}`;
    const heap = `${kib(m.heapPerPeerBytes)} KiB (${Math.round(m.heapPerEntryBytes)} B)`;
    return `| ${m.peers.toLocaleString('en')} | ${m.seed} | ${m.start === 'warm' ? 'warm start' : rounds(m.joinRounds, maxRounds)} | ${m.start === 'warm' ? '–' : traffic(m.join)} | ${traffic(m.steady)} | ${rounds(m.newPeerKnownRounds, maxRounds)} / ${rounds(m.newPeerKnowsAllRounds, maxRounds)} | ${file} | ${kib(m.news.bytesPerPeerRound)} | ${heap} | ${m.wallSeconds.toFixed(1)} |`;
  });
  return [header, `|${' --- |'.repeat(10)}`, ...lines].join('\n');
}

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
const detail = (t: PhaseTraffic) =>
  `${kib(t.bytesPerPeerRound)} (${t.requestsPerPeerRound.toFixed(1)} / ${t.probesPerPeerRound.toFixed(1)} / ${Math.round(t.recordsPerPeerRound)})`;

/** The table for partial views, loss and churn: one row per run. */
export function fetchScaleTable(rows: readonly FetchMeasure[], maxRounds: number): string {
  const header =
    '| peers | seed | maxPeers | loss | steady: KiB per peer per round (requests / probes / records) | news: same | newcomer held alive by 50 % / 90 % / all: rounds (held by, last round) | newcomer holds a full table: rounds | table entries per peer | heap per peer (per entry) | churn: crash+join per round × rounds | stale alive entries at churn end | joiners held by | rounds until no crashed peer held alive (live peers then not held alive) | wall s |';
  const lines = rows.map((m) => {
    const c = m.churn;
    const held = m.newPeerKnownBy.at(-1) ?? 0;
    return `| ${m.peers.toLocaleString('en')} | ${m.seed} | ${m.maxPeers.toLocaleString('en')}${m.partial ? ' (partial)' : ''} | ${m.loss} | ${detail(m.steady)} | ${detail(m.news)} | ${rounds(m.newPeerKnownHalfRounds, maxRounds)} / ${rounds(m.newPeerKnown90Rounds, maxRounds)} / ${rounds(m.newPeerKnownRounds, maxRounds)} (${held} of ${m.peers}) | ${rounds(m.newPeerKnowsAllRounds, maxRounds)} | ${Math.round(m.entriesPerPeer)} | ${kib(m.heapPerPeerBytes)} KiB (${Math.round(m.heapPerEntryBytes)} B) | ${c ? `${c.rate} × ${c.rounds}` : '–'} | ${c ? pct(c.staleAliveFraction) : '–'} | ${c ? pct(c.joinersHeldFraction) : '–'} | ${c ? `${rounds(c.settleRounds, maxRounds)} (${pct(c.liveNotHeldAliveFraction)})` : '–'} | ${m.wallSeconds.toFixed(1)} |`;
  });
  return [header, `|${' --- |'.repeat(15)}`, ...lines].join('\n');
}
