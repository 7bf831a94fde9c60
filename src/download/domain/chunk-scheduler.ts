/**
 * Which chunk to ask which source for next. Sources pull work: each has a number of request
 * slots, and a source that answers faster frees its slots sooner and so gets more chunks. Chunks
 * are handed out lowest first; once every missing chunk is already requested (the endgame), a
 * source with a free slot gets a duplicate request for a chunk it is not already fetching, and
 * the first verified copy wins. A source that fails or stalls repeatedly is dropped for this
 * download, one that sends a bad chunk is banned; their chunks go back to the pool.
 */
import { Bitfield } from './bitfield.ts';

export interface SchedulerOptions {
  /** Chunks in flight per source (several may travel in one request). */
  slotsPerSource: number;
  /** Consecutive failures after which a source is dropped for this download. */
  maxFailures: number;
}

export const DEFAULT_SCHEDULER_OPTIONS: SchedulerOptions = { slotsPerSource: 8, maxFailures: 3 };

interface SourceState {
  inFlight: Set<number>;
  failures: number;
  bytes: number;
}

export type SourceVerdict = 'kept' | 'dropped' | 'banned';

export class ChunkScheduler {
  readonly verified: Bitfield;
  readonly #options: SchedulerOptions;
  readonly #sources = new Map<string, SourceState>();
  readonly #banned = new Set<string>();
  /** How many sources are currently fetching each chunk. */
  readonly #requests = new Map<number, number>();
  #cursor = 0;

  constructor(verified: Bitfield, options: Partial<SchedulerOptions> = {}) {
    this.verified = verified;
    this.#options = { ...DEFAULT_SCHEDULER_OPTIONS, ...options };
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
    this.#sources.set(source, { inFlight: new Set(), failures: 0, bytes: 0 });
    return true;
  }

  /** The next chunk `source` should fetch, or undefined when it has no free slot or nothing useful to do. */
  next(source: string): number | undefined {
    const s = this.#sources.get(source);
    if (!s || s.inFlight.size >= this.#options.slotsPerSource || this.done) return undefined;
    const fresh = this.#nextUnrequested();
    const pick = fresh ?? this.#endgamePick(s);
    if (pick === undefined) return undefined;
    s.inFlight.add(pick);
    this.#requests.set(pick, (this.#requests.get(pick) ?? 0) + 1);
    return pick;
  }

  /**
   * Reserve `chunk` for `source` as well, so it can be fetched in the same request as the chunk
   * before it: only when it is missing, nobody is fetching it, and the source has a free slot.
   */
  extend(source: string, chunk: number): boolean {
    const s = this.#sources.get(source);
    if (!s || s.inFlight.size >= this.#options.slotsPerSource || chunk >= this.verified.size) return false;
    if (this.verified.has(chunk) || this.#requests.has(chunk)) return false;
    s.inFlight.add(chunk);
    this.#requests.set(chunk, 1);
    return true;
  }

  /** Which other sources are fetching `chunk` (to cancel them once it is verified). */
  fetchersOf(chunk: number): string[] {
    return [...this.#sources].filter(([, s]) => s.inFlight.has(chunk)).map(([id]) => id);
  }

  /** A verified chunk arrived from `source`. Returns false if it was already verified (endgame duplicate). */
  succeeded(source: string, chunk: number, bytes: number): boolean {
    const s = this.#release(source, chunk);
    if (s) {
      s.failures = 0;
      s.bytes += bytes;
    }
    if (this.verified.has(chunk)) return false;
    this.verified.add(chunk);
    return true;
  }

  /** The request was cancelled (another source won the endgame race): no fault of the source. */
  cancelled(source: string, chunk: number): void {
    this.#release(source, chunk);
  }

  /** The request failed or stalled; after maxFailures in a row the source is dropped. */
  failed(source: string, chunk: number): SourceVerdict {
    const s = this.#release(source, chunk);
    if (!s) return 'dropped';
    s.failures += 1;
    if (s.failures < this.#options.maxFailures) return 'kept';
    this.drop(source);
    return 'dropped';
  }

  /** The source sent bytes that do not match the chunk hash: banned for this file ('banned' only the first time). */
  corrupt(source: string, chunk: number): SourceVerdict {
    this.#release(source, chunk);
    if (this.#banned.has(source)) return 'dropped';
    this.#banned.add(source);
    this.drop(source);
    return 'banned';
  }

  /** Stop using a source; its in-flight chunks return to the pool. */
  drop(source: string): void {
    const s = this.#sources.get(source);
    if (!s) return;
    for (const chunk of [...s.inFlight]) this.#release(source, chunk);
    this.#sources.delete(source);
  }

  #release(source: string, chunk: number): SourceState | undefined {
    const s = this.#sources.get(source);
    if (s?.inFlight.delete(chunk)) {
      const n = (this.#requests.get(chunk) ?? 1) - 1;
      if (n > 0) this.#requests.set(chunk, n);
      else {
        this.#requests.delete(chunk);
        if (!this.verified.has(chunk) && chunk < this.#cursor) this.#cursor = chunk;
      }
    }
    return s;
  }

  #nextUnrequested(): number | undefined {
    for (let i = this.#cursor; i < this.verified.size; i++) {
      if (!this.verified.has(i) && !this.#requests.has(i)) {
        this.#cursor = i + 1;
        return i;
      }
    }
    this.#cursor = this.verified.size;
    return undefined;
  }

  /** Endgame: the least-requested missing chunk this source is not already fetching. */
  #endgamePick(s: SourceState): number | undefined {
    let best: number | undefined;
    let fewest = Infinity;
    for (const [chunk, n] of this.#requests) {
      if (s.inFlight.has(chunk) || this.verified.has(chunk)) continue;
      if (n < fewest) {
        best = chunk;
        fewest = n;
      }
    }
    return best;
  }
}
