/**
 * Which chunks to ask which source for. Work is handed out as runs: a run is a span of
 * consecutive chunks fetched from one source in one streamed range request, received in order.
 * Each source has a few request slots; a source that answers faster frees its slots sooner and
 * so gets more runs. Runs are long while much is left (few requests, little per-request cost)
 * and shrink toward the end so that every source is busy until the last chunk.
 *
 * When nothing is left to hand out, a source with a free slot steals the tail of the run that
 * would finish last, split in proportion to the two sources' rates, so no byte is fetched twice.
 * Only when no run has a chunk left to split off (each is on its last chunk) does a free source
 * fetch a duplicate of a chunk still in flight elsewhere (the endgame); the first verified copy
 * wins. A source that fails or stalls repeatedly is dropped for this download, one that sends a
 * bad chunk is banned; the chunks of their runs go back to the pool.
 */
import { systemClock, type Now } from '../../shared/clock.ts';
import { Bitfield } from './bitfield.ts';

export interface SchedulerOptions {
  /** Range requests in flight per source. */
  slotsPerSource: number;
  /** Most chunks one request may carry. */
  maxRunChunks: number;
  /** Consecutive failures after which a source is dropped for this download. */
  maxFailures: number;
}

export const DEFAULT_SCHEDULER_OPTIONS: SchedulerOptions = { slotsPerSource: 2, maxRunChunks: 64, maxFailures: 3 };

/** One range request: chunks [next, end) are still to come from `source`, in order. */
export interface Run {
  readonly source: string;
  /** The first chunk asked for. */
  readonly first: number;
  /** The chunk this run receives next. */
  readonly next: number;
  /** One past the last chunk this run still owns (lowered when another source steals its tail). */
  readonly end: number;
  /** The chunk count asked for when the request was made (the request's byte range). */
  readonly asked: number;
  /** Set when the run's source was dropped or banned: its request should be abandoned. */
  readonly dead: boolean;
}

interface MutableRun {
  source: string;
  first: number;
  next: number;
  end: number;
  asked: number;
  dead: boolean;
}

interface SourceState {
  runs: Set<MutableRun>;
  failures: number;
  bytes: number;
  /** When this source was first asked for something (for its rate). */
  since: number | undefined;
}

export type SourceVerdict = 'kept' | 'dropped' | 'banned';

export class ChunkScheduler {
  readonly verified: Bitfield;
  readonly #options: SchedulerOptions;
  readonly #now: Now;
  readonly #sources = new Map<string, SourceState>();
  readonly #banned = new Set<string>();
  /** How many runs own each chunk (more than one only for endgame duplicates). */
  readonly #owners: Uint16Array;
  /** Chunks neither verified nor owned by a run. */
  #unclaimed: number;
  /** No unclaimed chunk lies below this index. */
  #cursor = 0;

  constructor(verified: Bitfield, options: Partial<SchedulerOptions> = {}, now: Now = () => systemClock.now()) {
    this.verified = verified;
    this.#options = { ...DEFAULT_SCHEDULER_OPTIONS, ...options };
    this.#now = now;
    this.#owners = new Uint16Array(verified.size);
    this.#unclaimed = verified.size - verified.count;
  }

  get done(): boolean {
    return this.verified.complete;
  }

  /** Sources still usable for this download. */
  get sources(): string[] {
    return [...this.#sources.keys()];
  }

  get banned(): string[] {
    return [...this.#banned];
  }

  bytesFrom(source: string): number {
    return this.#sources.get(source)?.bytes ?? 0;
  }

  addSource(source: string): boolean {
    if (this.#banned.has(source) || this.#sources.has(source)) return false;
    this.#sources.set(source, { runs: new Set(), failures: 0, bytes: 0, since: undefined });
    return true;
  }

  /** The next run `source` should fetch, or undefined when it has no free slot or nothing useful to do. */
  claim(source: string): Run | undefined {
    const s = this.#sources.get(source);
    if (!s || s.runs.size >= this.#options.slotsPerSource || this.done) return undefined;
    const run = this.#fresh(source) ?? this.#steal(source) ?? this.#duplicate(source);
    if (!run) return undefined;
    s.runs.add(run);
    s.since ??= this.#now();
    return run;
  }

  /** `run` delivered its next chunk, verified. Returns false when that chunk was already verified (a lost endgame race). */
  received(run: Run, chunk: number, bytes: number): boolean {
    const fresh = !this.verified.has(chunk);
    this.verified.add(chunk); // first: a verified chunk never returns to the pool
    const r = this.#advance(run, chunk);
    const s = this.#sources.get(r.source);
    if (s && !r.dead) {
      s.failures = 0;
      s.bytes += bytes;
    }
    return fresh;
  }

  /** `run` passed its next chunk without delivering it (it was already verified elsewhere). */
  skipped(run: Run, chunk: number): void {
    this.#advance(run, chunk);
  }

  /** True when every chunk `run` still owns is verified: its request has nothing left to give. */
  spent(run: Run): boolean {
    for (let i = run.next; i < run.end; i++) if (!this.verified.has(i)) return false;
    return true;
  }

  /** The run's request ended (complete, stopped or cancelled — no fault of the source): its remaining chunks go back to the pool. */
  finish(run: Run): void {
    const r = run as MutableRun;
    this.#release(r, r.next, r.end);
    r.end = r.next;
    this.#sources.get(r.source)?.runs.delete(r);
  }

  /** The run's request failed or stalled; after maxFailures in a row its source is dropped. */
  failed(run: Run): SourceVerdict {
    this.finish(run);
    const s = this.#sources.get(run.source);
    if (!s || run.dead) return 'dropped';
    s.failures += 1;
    if (s.failures < this.#options.maxFailures) return 'kept';
    this.drop(run.source);
    return 'dropped';
  }

  /** The run's source sent bytes that do not match a chunk hash, or more than it declared: banned for this file ('banned' only the first time). */
  corrupt(run: Run): SourceVerdict {
    this.finish(run);
    if (this.#banned.has(run.source)) return 'dropped';
    this.#banned.add(run.source);
    this.drop(run.source);
    return 'banned';
  }

  /** Stop using a source: its runs are marked dead and their chunks return to the pool. */
  drop(source: string): void {
    const s = this.#sources.get(source);
    if (!s) return;
    for (const r of s.runs) {
      this.#release(r, r.next, r.end);
      r.end = r.next;
      r.dead = true;
    }
    this.#sources.delete(source);
  }

  #advance(run: Run, chunk: number): MutableRun {
    const r = run as MutableRun;
    if (chunk !== r.next || chunk >= r.end)
      throw new Error(`run of ${r.source} at ${r.next}..${r.end} cannot advance past ${chunk}`);
    this.#release(r, chunk, chunk + 1);
    r.next = chunk + 1;
    return r;
  }

  #release(_run: MutableRun, from: number, to: number): void {
    for (let i = from; i < to; i++) {
      const n = this.#owners[i]! - 1;
      this.#owners[i] = n;
      if (n === 0 && !this.verified.has(i)) {
        this.#unclaimed++;
        if (i < this.#cursor) this.#cursor = i;
      }
    }
  }

  #own(from: number, to: number): void {
    for (let i = from; i < to; i++) {
      if (this.#owners[i] === 0 && !this.verified.has(i)) this.#unclaimed--;
      this.#owners[i]! += 1;
    }
  }

  #isFree(i: number): boolean {
    return !this.verified.has(i) && this.#owners[i] === 0;
  }

  /** A run over the lowest unclaimed chunks, as long as a fair share of what is left. */
  #fresh(source: string): MutableRun | undefined {
    if (this.#unclaimed === 0) return undefined;
    let first = this.#cursor;
    while (first < this.verified.size && !this.#isFree(first)) first++;
    this.#cursor = first;
    if (first >= this.verified.size) return undefined;
    const share = Math.ceil(this.#unclaimed / (this.#sources.size * this.#options.slotsPerSource));
    const length = Math.max(1, Math.min(this.#options.maxRunChunks, share));
    let end = first + 1;
    while (end < this.verified.size && end - first < length && this.#isFree(end)) end++;
    this.#own(first, end);
    return { source, first, next: first, end, asked: end - first, dead: false };
  }

  /** Bytes per millisecond a source has delivered so far (undefined before its first chunk). */
  #rate(s: SourceState): number | undefined {
    if (s.since === undefined || s.bytes === 0) return undefined;
    return s.bytes / Math.max(1, this.#now() - s.since);
  }

  /**
   * Split off the tail of the run expected to finish last (another source's), so both finish
   * together: the victim keeps its current chunk and a share of the rest in proportion to its rate.
   */
  #steal(source: string): MutableRun | undefined {
    const thief = this.#sources.get(source)!;
    let victim: MutableRun | undefined;
    let victimRate = 0;
    let latest = 0;
    for (const [id, s] of this.#sources) {
      if (id === source) continue;
      const rate = this.#rate(s) ?? this.#rate(thief) ?? 1;
      for (const r of s.runs) {
        const eta = (r.end - r.next) / rate;
        if (r.end - r.next >= 2 && eta > latest) {
          victim = r;
          victimRate = rate;
          latest = eta;
        }
      }
    }
    if (!victim) return undefined;
    const thiefRate = this.#rate(thief) ?? victimRate;
    const rest = victim.end - victim.next - 1; // chunks after the one it is receiving now
    const taken = Math.floor((rest * thiefRate) / (thiefRate + victimRate));
    if (taken < 1) return undefined;
    const end = victim.end;
    const first = end - taken;
    victim.end = first; // ownership moves from the victim to the thief: owner counts are unchanged
    return { source, first, next: first, end, asked: taken, dead: false };
  }

  /** Endgame: the missing chunk fetched by the fewest runs, that this source is not already fetching. */
  #duplicate(source: string): MutableRun | undefined {
    const mine = this.#sources.get(source)!.runs;
    let best: number | undefined;
    let fewest = Infinity;
    for (const s of this.#sources.values()) {
      if (s.runs === mine) continue;
      for (const r of s.runs) {
        for (let i = r.next; i < r.end; i++) {
          if (this.verified.has(i) || this.#owners[i]! >= fewest) continue;
          if ([...mine].some((m) => i >= m.next && i < m.end)) continue;
          best = i;
          fewest = this.#owners[i]!;
        }
      }
    }
    if (best === undefined) return undefined;
    this.#own(best, best + 1);
    return { source, first: best, next: best, end: best + 1, asked: 1, dead: false };
  }
}
