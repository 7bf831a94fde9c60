/**
 * One search this peer started: it collects hits as they come back (dropping a second hit for the
 * same file from the same holder), tells listeners about each new one, and ends exactly once, at
 * its deadline, at its result cap, once as many other peers answered as it wants (dynamic
 * querying), or when cancelled, with a summary.
 */

/** One file found at one holder, as the local API reports it. */
export interface SearchHit {
  readonly fileId: string;
  readonly name: string;
  readonly size: number;
  readonly holderPeerId: string;
  /** host:port of the holder's File Management, as its hit said (a hint: sources are dialled at verified record addresses). */
  readonly filesAddress: string;
  /** Links between this peer and the holder (0: our own file). */
  readonly hops: number;
  /** Present when the hit is a shared folder: fileId is its collection id (docs/PROTOCOL.md §11). */
  readonly folder?: { readonly files: number };
}

/**
 * Why a search ended: its deadline passed, its result cap was reached, `want` distinct other
 * peers answered ('enough'), or its caller went away or the peer stopped ('cancelled').
 */
export type EndReason = 'deadline' | 'limit' | 'enough' | 'cancelled';

export interface SearchSummary {
  /** The query's network-wide key. */
  readonly queryKey: string;
  /** Distinct holders that sent at least one hit (this peer included when it matched). */
  readonly peersAnswered: number;
  readonly hits: number;
  /** Hits for a (holder, file) pair already reported. */
  readonly duplicatesDropped: number;
  readonly elapsedMs: number;
  readonly ended: EndReason;
}

type HitListener = (hit: SearchHit) => void;

export class ActiveSearch {
  readonly hits: SearchHit[] = [];
  /** Resolves with the summary when the search ends. */
  readonly done: Promise<SearchSummary>;
  private readonly listeners: HitListener[] = [];
  private readonly pairs = new Set<string>();
  private readonly holders = new Set<string>();
  /** Holders other than this peer (hits that crossed a link). */
  private readonly remote = new Set<string>();
  private duplicates = 0;
  private summary: SearchSummary | undefined;
  private resolve!: (summary: SearchSummary) => void;
  private readonly onEnd: () => void;

  constructor(
    readonly queryKey: string,
    private readonly startedAt: number,
    private readonly limit: number,
    private readonly now: () => number,
    onEnd: () => void,
    /** Distinct other peers whose answers are enough (dynamic querying); unset: run to the deadline. */
    private readonly want?: number,
    /** Called once when `want` is first reached; the caller ends the search ('enough') after its grace. Unset: end at once. */
    private readonly onEnough?: () => void,
  ) {
    this.onEnd = onEnd;
    this.done = new Promise((resolve) => (this.resolve = resolve));
  }

  /** Distinct other peers that answered so far. */
  get remoteHolders(): number {
    return this.remote.size;
  }

  get ended(): boolean {
    return this.summary !== undefined;
  }

  /** Call `listener` for every new hit from now on (earlier ones are in `hits`). */
  onHit(listener: HitListener): void {
    this.listeners.push(listener);
  }

  /** Record a hit; false if it was a duplicate or the search has ended. */
  add(hit: SearchHit): boolean {
    if (this.summary) return false;
    const pair = `${hit.holderPeerId}/${hit.fileId}`;
    if (this.pairs.has(pair)) {
      this.duplicates += 1;
      return false;
    }
    this.pairs.add(pair);
    this.holders.add(hit.holderPeerId);
    if (hit.hops > 0) this.remote.add(hit.holderPeerId);
    this.hits.push(hit);
    for (const listener of this.listeners) listener(hit);
    if (this.hits.length >= this.limit) this.end('limit');
    return true;
  }

  /**
   * Record one answer from another peer: the results of one Hit message, all from one holder.
   * Then, if the search wants a number of holders and that many distinct other peers have
   * answered, it ends ('enough'). Checked after the whole answer, so that a holder's second
   * matching file in the same message is kept. Holders are counted as hits name them (a hit is a
   * claim: the Client weighs only verified ones); a holder's second answer counts once.
   */
  addAnswer(hits: readonly SearchHit[]): void {
    for (const hit of hits) this.add(hit);
    if (this.summary || this.want === undefined || this.remote.size < this.want || this.enough) return;
    this.enough = true;
    if (this.onEnough) this.onEnough();
    else this.end('enough');
  }

  /** `want` was reached (the search may still be taking answers in its grace). */
  private enough = false;

  /** End the search (once; later calls do nothing). */
  end(reason: EndReason): void {
    if (this.summary) return;
    this.summary = {
      queryKey: this.queryKey,
      peersAnswered: this.holders.size,
      hits: this.hits.length,
      duplicatesDropped: this.duplicates,
      elapsedMs: this.now() - this.startedAt,
      ended: reason,
    };
    this.listeners.length = 0;
    this.onEnd();
    this.resolve(this.summary);
  }
}
