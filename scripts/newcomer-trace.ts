/**
 * Where a partial view's newcomer goes, round by round: the `fetch-rounds` run (src/sim/fetch-rounds.ts,
 * the same seeded network and counts) with the domain's Admission and PeerTable watched for the
 * newcomer's record alone. Per news round, summed over the other peers: the offers of its record
 * (announced by the newcomer itself, or gossiped in an answer) and what became of them (pending,
 * already pending, refused), gossip of it skipped as outdated (a peer that refused or sampled it
 * out), evictions of it from a full Admission before its probe, probes of it and their outcome in
 * the table (added, or refused by the full table's draw), entries of it sampled out; and after the
 * round, the Admissions it waits in, the records ahead of it in its origin's queue there (each
 * origin gets one probe per turn, oldest first), and the origins per peer its turn competes with.
 *
 *   node --import tsx scripts/newcomer-trace.ts --peers N --max-peers M [--records-per-answer R]
 *     [--seed X] [--steady-rounds S] [--rounds R] [--loss P] [--json FILE]  (the options of sim -- fetch-rounds)
 *
 * A diagnostic: it wraps methods on the prototypes (private ones included), changing nothing they do.
 */
/* eslint-disable @typescript-eslint/unbound-method -- it wraps prototype methods, calling each with its own `this` */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Admission, type OfferOutcome, type Origin, type Probe } from '../src/fetch/domain/admission.ts';
import type { PeerRecord } from '../src/fetch/domain/peer-record.ts';
import type { PendingRecords } from '../src/fetch/domain/pending-records.ts';
import { PeerTable } from '../src/fetch/domain/peer-table.ts';
import { FetchNetwork, type FetchSimPeer } from '../src/sim/fetch-network.ts';
import { FETCH_ROUNDS_OPTIONS, runFetchRounds, type FetchRoundsMeasure } from '../src/sim/fetch-rounds.ts';

const { values } = parseArgs({
  options: { ...FETCH_ROUNDS_OPTIONS, rounds: { type: 'string', default: '10' } },
});
const n = Number(values.peers);

const zero = () => ({
  offeredByAnnounce: 0,
  offeredByGossip: 0,
  pendingNew: 0,
  alreadyPending: 0,
  refused: 0,
  gossipSkippedOutdated: 0,
  evicted: 0,
  probed: 0,
  added: 0,
  refusedFull: 0,
  sampledOut: 0,
});
type Counts = ReturnType<typeof zero>;
let counts: Counts = zero();
let id = '';
let net: FetchNetwork | undefined;

type AdmissionInside = { pending: PendingRecords; evictOne(): void };
type TableInside = {
  has(peerId: string): boolean;
  mergeOne(record: PeerRecord, now: number): string;
  remove(peerId: string, kind: string, now: number): void;
};

const add = FetchNetwork.prototype.add;
FetchNetwork.prototype.add = function (this: FetchNetwork, join: readonly string[], files?: number): FetchSimPeer {
  const peer = add.call(this, join, files);
  net = this; // eslint-disable-line @typescript-eslint/no-this-alias -- the network the run builds, read after each round
  if (peer.index === n) id = peer.core.peerId; // the newcomer: the peer added after the N others
  return peer;
};
const offer = Admission.prototype.offer;
Admission.prototype.offer = function (this: Admission, record: PeerRecord, origin: Origin, round: number, now: number) {
  const outcome: OfferOutcome = offer.call(this, record, origin, round, now);
  if (id !== '' && record.peerId === id) {
    if (origin.kind === 'announce') counts.offeredByAnnounce++;
    else counts.offeredByGossip++;
    if (outcome === 'pending') counts.pendingNew++;
    else if (outcome === 'unchanged' || outcome === 'updated') counts.alreadyPending++;
    else counts.refused++;
  }
  return outcome;
};
const admission = Admission.prototype as unknown as AdmissionInside;
const evictOne = admission.evictOne;
admission.evictOne = function (this: AdmissionInside) {
  const largest = this.pending.largest();
  if (id !== '' && largest && this.pending.record(largest.head).peerId === id) counts.evicted++;
  evictOne.call(this);
};
const planProbes = Admission.prototype.planProbes;
Admission.prototype.planProbes = function (this: Admission, round: number, busy?: ReadonlySet<string>): Probe[] {
  const chosen = planProbes.call(this, round, busy);
  for (const probe of chosen) if (id !== '' && probe.record.peerId === id) counts.probed++;
  return chosen;
};
const isOutdated = PeerTable.prototype.isOutdated;
PeerTable.prototype.isOutdated = function (this: PeerTable, record: PeerRecord): boolean {
  const outdated = isOutdated.call(this, record);
  if (outdated && id !== '' && record.peerId === id && !this.has(id)) counts.gossipSkippedOutdated++;
  return outdated;
};
const table = PeerTable.prototype as unknown as TableInside;
const mergeOne = table.mergeOne;
table.mergeOne = function (this: TableInside, record: PeerRecord, now: number): string {
  const outcome = mergeOne.call(this, record, now);
  if (id !== '' && record.peerId === id) {
    if (outcome === 'added') counts.added++;
    if (outcome === 'full') counts.refusedFull++;
  }
  return outcome;
};
const remove = table.remove;
table.remove = function (this: TableInside, peerId: string, kind: string, now: number): void {
  if (id !== '' && peerId === id && kind === 'evicted' && this.has(id)) counts.sampledOut++;
  remove.call(this, peerId, kind, now);
};

const rows: Record<string, number>[] = [];
const command = `node --import tsx scripts/newcomer-trace.ts ${process.argv.slice(2).join(' ')}`;
let seen = 0;
const onProgress = (m: FetchRoundsMeasure) => {
  const last = m.news[m.news.length - 1];
  if (m.news.length === seen || !last || !net) return;
  seen = m.news.length;
  let waitingIn = 0;
  let origins = 0;
  let ahead = 0; // records ahead of it in its origin's queue (probed first, one per turn of that origin)
  for (const peer of net.peers) {
    const { pending } = peer.core.admission as unknown as AdmissionInside;
    origins += pending.origins.size;
    const slot = pending.slotOf(id);
    if (slot < 0) continue;
    waitingIn++;
    for (let s = pending.origin(slot).head; s !== slot; s = pending.newerInOrigin(s)) ahead++;
  }
  const row = {
    round: last.round,
    heldBy: last.newcomerHeldBy ?? 0,
    ...counts,
    waitingIn,
    aheadInItsOrigin: waitingIn > 0 ? ahead / waitingIn : 0,
    originsPerPeer: origins / net.peers.length,
    pendingPerPeer: last.pendingPerPeer,
  };
  rows.push(row);
  console.error(JSON.stringify(row));
  if (values.json) writeFileSync(values.json, `${JSON.stringify({ command, node: process.version, rows }, null, 1)}\n`);
  counts = zero();
};
const perAnswer = values['records-per-answer'];
await runFetchRounds({
  peers: n,
  maxPeers: Number(values['max-peers']),
  ...(perAnswer !== undefined ? { maxRecordsPerAnswer: Number(perAnswer) } : {}),
  seed: Number(values.seed),
  steadyRounds: Number(values['steady-rounds']),
  rounds: Number(values.rounds),
  loss: Number(values.loss),
  onProgress,
});
