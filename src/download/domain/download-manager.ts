/**
 * The Download service's use cases: accept a request (publish a job), consume jobs from the
 * queue and carry each to a complete, verified file, and pause, resume or cancel downloads.
 * A job is acknowledged only once its file is complete, synced, renamed into place and shared;
 * transient failures are retried with backoff, hopeless jobs are dead-lettered with a reason (and
 * their partial file deleted). A full disk pauses the download (DISK_FULL): retrying would only
 * hit the same wall; `resume` goes on from the verified chunks once there is space.
 *
 * Finishing is recorded step by step (finishing.ts). A partial file that had to be created anew
 * is never trusted to hold any chunk.
 */
import { EventEmitter } from 'node:events';
import { chunkBounds, verifyChunk, type Manifest } from '../../shared/content.ts';
import { isPeershareError, PeershareError } from '../../shared/errors.ts';
import type {
  ChunkSource,
  DownloadFiles,
  DownloadRecord,
  DownloadStore,
  LocalRegistry,
  PartialFile,
  SourceDirectory,
} from '../ports.ts';
import type { JobDelivery, JobQueue } from '../queue-port.ts';
import { Bitfield } from './bitfield.ts';
import { Finishing } from './finishing.ts';
import { isSource, JOB_VERSION, parseJob, validateJob, type DownloadJob } from './job.ts';
import { raceManifests, type ManifestOptions } from './manifest-race.ts';
import { RateMeter } from './rate-meter.ts';
import { systemClock, type Cancel, type Clock } from '../../shared/clock.ts';
import { RateLimit } from '../../shared/throttle.ts';
import { toProgress, type Active, type Progress } from './progress.ts';
import { bytesOf, runTransfer, type TransferEvent, type TransferOptions } from './transfer.ts';

export interface DownloadManagerOptions {
  downloadsDir: string;
  /** The key of a download of a file into a folder (job.ts jobKeys: secret to this peer). */
  jobKey: (fileId: string, outDir: string) => string;
  /** Attempts before a job whose file cannot be had is dead-lettered. */
  maxAttempts: number;
  /** Backoff before attempt n+1: base × 2^(n-1), capped. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** How often a running delivery is kept alive past the broker's acknowledgement timeout. */
  keepAliveMs: number;
  transfer?: Partial<TransferOptions>;
  /** The manifest step's deadline per source and how many sources are asked at once. */
  manifest?: Partial<ManifestOptions>;
  /** Bandwidth cap for all downloads together, bytes per second; 0 or absent: none. */
  maxBytesPerSecond?: number;
  /** Time: record times from its wall clock, timers (keep-alive, deadlines, the cap) from its schedule. */
  clock?: Clock;
}

export interface DownloadRequest {
  fileId: string;
  name: string;
  sources?: string[];
  outDir?: string;
  /** The size the file should have (a link's): checked against the verified manifest. */
  size?: number;
}

/** What a download paused by a full disk says. */
/** The states a download does not leave by itself: what `clear` forgets. */
const ENDED_STATES = ['done', 'failed', 'cancelled'] as const;

export const DISK_FULL_ADVICE = 'free some space, then resume it (the verified chunks are kept)';

/** Why a running download was stopped on purpose (the abort reason of its transfer). */
class Interruption extends Error {
  constructor(readonly why: 'pause' | 'cancel' | 'stop') {
    super(why === 'stop' ? 'service stopping' : `${why}d by the user`);
  }
}

export interface Ports {
  queue: JobQueue;
  store: DownloadStore;
  files: DownloadFiles;
  chunkSource: ChunkSource;
  registry: LocalRegistry;
  directory?: SourceDirectory;
}

export class DownloadManager {
  /** 'progress' (Progress) and 'event' ({type, key, ...}) for logs, the API and tests. */
  readonly events = new EventEmitter();
  readonly #ports: Ports;
  readonly #options: Required<Omit<DownloadManagerOptions, 'transfer' | 'maxBytesPerSecond'>> & {
    transfer: Partial<TransferOptions>;
  };
  readonly #throttle: RateLimit;
  readonly #finishing: Finishing;
  readonly #active = new Map<string, Active>();
  /**
   * Per file id, the sources whose address answered with another peer's certificate (or none
   * proving an id): left out of every later attempt at that file while this process runs.
   */
  readonly #refused = new Map<string, Map<string, string>>();
  #stopping = false;

  constructor(ports: Ports, options: DownloadManagerOptions) {
    this.#ports = ports;
    this.#options = { clock: systemClock, transfer: {}, manifest: {}, ...options };
    this.#throttle = new RateLimit(options.maxBytesPerSecond ?? 0, this.#options.clock);
    this.#finishing = new Finishing(ports, { now: () => this.#now(), emit: (event) => this.#emit(event) });
  }

  /** The folder downloads are saved in when a request names none. */
  get downloadsDir(): string {
    return this.#options.downloadsDir;
  }

  /** The cap on all downloads together, bytes per second; 0 for none. */
  get maxBytesPerSecond(): number {
    return this.#throttle.bytesPerSecond;
  }

  /** Change the cap while downloads run (0: none); running ones go on at the new rate. */
  setMaxBytesPerSecond(bytesPerSecond: number): void {
    this.#throttle.set(bytesPerSecond);
    this.#emit({ type: 'rate-cap-changed', maxBytesPerSecond: this.#throttle.bytesPerSecond });
  }

  /** Queue a download; resolves once the job is durable in the queue. Idempotent per (file, folder). */
  async request(req: DownloadRequest): Promise<Progress> {
    return this.#toProgress(await this.#enqueue(req));
  }

  async #enqueue(req: DownloadRequest): Promise<DownloadRecord> {
    const job = validateJob({ v: JOB_VERSION, ...req, sources: req.sources ?? [], requestedAt: this.#now() });
    const outDir = job.outDir ?? this.#options.downloadsDir;
    const key = this.#options.jobKey(job.fileId, outDir);
    const held = this.#ports.store.get(key);
    // A finished file the user has since deleted (or moved) is downloaded again, from scratch.
    const existing = held?.state === 'done' && !(await this.#stillThere(held)) ? undefined : held;
    if (existing && ['done', 'running', 'queued', 'finalizing'].includes(existing.state)) return existing;
    if (!existing && req.outDir === undefined) await this.#notSharedHere(job.fileId);
    const record: DownloadRecord = existing
      ? { ...existing, state: 'queued', sources: job.sources, updatedAt: this.#now() }
      : {
          key,
          fileId: job.fileId,
          name: job.name,
          outDir,
          sources: job.sources,
          state: 'queued',
          bytesDone: 0,
          createdAt: this.#now(),
          updatedAt: this.#now(),
        };
    delete record.error;
    // Recorded as queued before publishing: the queue may deliver the job before publish() returns.
    this.#ports.store.put(record);
    try {
      await this.#ports.queue.publish(key, Buffer.from(JSON.stringify(job)));
    } catch (err) {
      this.#setState(key, 'failed', `could not queue the download: ${(err as Error).message}`);
      throw err;
    }
    this.#progress(record);
    return record;
  }

  /** The queue consumer: one delivery to one finished (or failed) download. */
  readonly handle = async (delivery: JobDelivery): Promise<void> => {
    if (this.#stopping) return; // not settled: the queue hands it back when it stops
    let job: DownloadJob;
    try {
      job = parseJob(delivery.body);
    } catch (err) {
      await delivery.deadLetter((err as Error).message);
      this.#emit({ type: 'dead-letter', reason: (err as Error).message });
      return;
    }
    const outDir = job.outDir ?? this.#options.downloadsDir;
    const key = this.#options.jobKey(job.fileId, outDir);
    const record = this.#ports.store.get(key);
    if (record && ['done', 'paused', 'cancelled'].includes(record.state)) {
      await delivery.ack(); // already finished, or parked by the user: nothing to do for this copy
      return;
    }
    const running = this.#active.get(key);
    if (running) {
      // The same job delivered twice (a republished keep-alive copy, or a duplicate request):
      // one download, and this copy is settled with it.
      await running.done.catch(() => undefined);
      await delivery.ack();
      return;
    }
    const active: Active = {
      controller: new AbortController(),
      done: Promise.resolve(),
      meter: new RateMeter(),
      sources: new Set(),
      bySource: new Map(),
    };
    let settle!: (ok: boolean) => void;
    active.done = new Promise<void>(
      (resolve, reject) => (settle = (ok) => (ok ? resolve() : reject(new Error('failed')))),
    );
    active.done.catch(() => undefined);
    this.#active.set(key, active);
    const keepAlive = this.#every(this.#options.keepAliveMs, () => void delivery.keepAlive().catch(() => undefined));
    // `done` settles only once the delivery is settled too, so pause() and cancel() can wait for it.
    try {
      await this.#download(job, key, outDir, record, active);
      await delivery.ack();
      this.#refused.delete(job.fileId); // the file is here: what was refused for it no longer matters
      settle(true);
    } catch (err) {
      try {
        await this.#settleFailure(delivery, key, err, active.controller.signal);
      } catch (settleErr) {
        // The failure could not be recorded (its state write or the queue failed too). Thrown on
        // to the queue adapter, which retries or dead-letters a delivery whose handler threw
        // unless it was settled already; swallowed, the job would stay claimed and "running".
        this.#emit({ type: 'settle-failed', key, reason: (settleErr as Error)?.message ?? String(settleErr) });
        throw settleErr;
      } finally {
        settle(false);
      }
    } finally {
      keepAlive();
      this.#active.delete(key);
    }
  };

  async #settleFailure(delivery: JobDelivery, key: string, err: unknown, signal: AbortSignal): Promise<void> {
    if (signal.aborted && signal.reason instanceof Interruption) {
      // Paused or cancelled: the state is recorded and resume() queues the job again. Stopping:
      // no ack, so the queue hands the job back and it resumes on the next start.
      if (signal.reason.why !== 'stop') await delivery.ack();
      return;
    }
    const message = (err as Error)?.message ?? String(err);
    const delay = Math.min(this.#options.retryBaseMs * 2 ** (delivery.attempt - 1), this.#options.retryMaxMs);
    const record = this.#ports.store.get(key);
    if (record?.state === 'finalizing') {
      // Every byte is here and verified: finishing is tried again (from the disk alone), never given up.
      this.#setState(key, 'finalizing', `finishing failed: ${message}; trying again in ${delay} ms`);
      await delivery.retry(message, delay);
      return;
    }
    if (isPeershareError(err) && err.code === 'DISK_FULL') {
      // Retrying would fill the same disk again: parked until the user frees space and resumes.
      this.#setState(key, 'paused', `${message}; ${DISK_FULL_ADVICE}`);
      await delivery.ack();
      this.#emit({ type: 'paused', key, reason: message });
      return;
    }
    const retryable = !isPeershareError(err) || ['UNAVAILABLE', 'FILE_NOT_FOUND', 'INTERNAL'].includes(err.code);
    if (retryable && delivery.attempt < this.#options.maxAttempts) {
      this.#setState(key, 'queued', `attempt ${delivery.attempt} failed: ${message}; retrying in ${delay} ms`);
      await delivery.retry(message, delay);
      return;
    }
    const reason = retryable ? `file unavailable after ${delivery.attempt} attempts: ${message}` : message;
    if (record) await this.#removePartial(record); // a failed download leaves nothing behind
    this.#setState(key, 'failed', reason);
    await delivery.deadLetter(reason);
    this.#emit({ type: 'dead-letter', key, reason });
  }

  async #download(
    job: DownloadJob,
    key: string,
    outDir: string,
    previous: DownloadRecord | undefined,
    active: Active,
  ): Promise<void> {
    if (previous?.state === 'finalizing') {
      if (await this.#finishing.afterCrash(previous, (r) => this.#progress(r))) return;
      previous = this.#ports.store.get(key); // nothing usable was left: downloaded again
    }
    const signal = active.controller.signal;
    const known = (await this.#ports.directory?.sourcesFor(job.fileId).catch(() => [])) ?? [];
    // A record of an earlier release may hold http:// sources (no peer id to pin): left out, as
    // are sources already found not to be the peer they name.
    const refused = this.#refused.get(job.fileId);
    const sources = [...new Set([...job.sources, ...(previous?.sources ?? []), ...known])].filter(
      (s) => isSource(s) && !refused?.has(s),
    );
    if (sources.length === 0 && refused?.size) {
      throw new PeershareError('UNAVAILABLE', `no source left for ${job.fileId}: ${[...refused.values()].join('; ')}`);
    }
    let record: DownloadRecord = previous ?? {
      key,
      fileId: job.fileId,
      name: job.name,
      outDir,
      sources,
      state: 'running',
      bytesDone: 0,
      createdAt: this.#now(),
      updatedAt: this.#now(),
    };
    record = { ...record, sources, state: 'running', updatedAt: this.#now() };
    delete record.error;
    this.#ports.store.put(record);
    const { manifest, usable } = await this.#manifest(job.fileId, sources, signal);
    if (job.size !== undefined && manifest.size !== job.size) {
      // The manifest proved itself against the id, so the size that was asked for is wrong: no retry.
      throw new PeershareError(
        'BAD_REQUEST',
        `file ${job.fileId} is ${manifest.size} bytes by its verified manifest, not the ${job.size} bytes asked for (a wrong link?); nothing was downloaded`,
      );
    }
    const { partial, created } = await this.#ports.files.openPartial(outDir, job.name, key, manifest.size);
    try {
      const verified = created ? new Bitfield(manifest.chunks.length) : await this.#restore(record, manifest, partial);
      record = {
        ...record,
        size: manifest.size,
        chunkSize: manifest.chunkSize,
        verified: verified.toBytes(),
        bytesDone: bytesOf(verified, manifest),
      };
      this.#ports.store.put(record);
      for (const s of usable) active.sources.add(s);
      this.#progress(record);
      await runTransfer({
        manifest,
        sources: usable,
        chunkSource: this.#ports.chunkSource,
        partial,
        verified,
        signal,
        options: this.#options.transfer,
        throttle: this.#throttle,
        clock: this.#options.clock,
        onEvent: (event) => this.#onTransferEvent(record, active, event),
      });
      // Paused or cancelled as the last chunk landed: that wins (from here to the record, nothing awaits).
      if (signal.aborted) throw signal.reason;
      const progress = (r: DownloadRecord) => this.#progress(r);
      await this.#finishing.finish(this.#finishing.begin(key, manifest, progress), partial, progress);
    } finally {
      await partial.close();
    }
  }

  /** Delete a download's partial file; a failure is reported, never thrown (the state is already recorded). */
  async #removePartial(record: DownloadRecord): Promise<void> {
    await this.#ports.files.removePartial(record.outDir, record.name, record.key).catch((err: unknown) => {
      this.#emit({ type: 'cleanup-failed', key: record.key, reason: (err as Error)?.message ?? String(err) });
    });
  }

  /** The first verified manifest among the sources, asked several at once under a deadline (manifest-race.ts). */
  async #manifest(
    fileId: string,
    sources: string[],
    signal: AbortSignal,
  ): Promise<{ manifest: Manifest; usable: string[] }> {
    return raceManifests({
      chunkSource: this.#ports.chunkSource,
      fileId,
      sources,
      signal,
      options: this.#options.manifest,
      clock: this.#options.clock,
      onFailure: ({ source, reason, code }) => {
        if (code === 'PEER_ID_MISMATCH' || code === 'PEER_UNVERIFIED') this.#refuse(fileId, source, reason, code);
        else this.#emit({ type: 'source-failed', fileId, source, verdict: 'no manifest', reason });
      },
    });
  }

  /** Leave out `source` for `fileId` from now on: its address is not the peer it names. */
  #refuse(fileId: string, source: string, reason: string, code: string): void {
    const refused = this.#refused.get(fileId) ?? new Map<string, string>();
    refused.set(source, reason.includes(source) ? reason : `${source}: ${reason}`);
    this.#refused.set(fileId, refused);
    this.#emit({ type: 'source-refused', fileId, source, code, reason });
  }

  /** Chunks verified by an earlier run: durable ones are trusted, others are re-checked on disk. */
  async #restore(record: DownloadRecord, manifest: Manifest, partial: PartialFile): Promise<Bitfield> {
    const count = manifest.chunks.length;
    const sameFile = record.size === manifest.size && record.chunkSize === manifest.chunkSize;
    const verified = new Bitfield(count, sameFile ? record.verified : undefined);
    const durable = new Bitfield(count, sameFile ? record.durable : undefined);
    for (const i of [...verified.members()]) {
      if (durable.has(i)) continue;
      const { start, end } = chunkBounds(i, manifest.size, manifest.chunkSize);
      if (!verifyChunk(manifest, i, await partial.read(start, end - start))) verified.delete(i);
    }
    return verified;
  }

  #onTransferEvent(record: DownloadRecord, active: Active, event: TransferEvent): void {
    const now = this.#now();
    if (event.type === 'chunk') {
      active.meter.add(event.bytes, now);
      const from = active.bySource.get(event.source) ?? { bytes: 0, meter: new RateMeter() };
      from.bytes += event.bytes;
      from.meter.add(event.bytes, now);
      active.bySource.set(event.source, from);
      record.bytesDone += event.bytes;
      this.#ports.store.progress(record.key, event.verified, event.durable, record.bytesDone, now);
      this.#progressThrottled(record, now);
      this.events.emit('chunk', event.bytes);
    } else if (event.type === 'chunk-failed') {
      this.#emit({ ...event, key: record.key });
    } else if (event.type === 'checkpoint') {
      this.#ports.store.progress(record.key, event.verified, event.durable, event.bytesDone, now);
    } else {
      if (event.type === 'source-banned' || event.verdict !== 'kept') active.sources.delete(event.source);
      if (event.type === 'source-failed' && event.code)
        this.#refuse(record.fileId, event.source, event.reason, event.code);
      this.#emit({ ...event, key: record.key });
    }
  }

  #lastProgress = new Map<string, number>();
  #progressThrottled(record: DownloadRecord, now: number): void {
    if (now - (this.#lastProgress.get(record.key) ?? 0) < 250) return;
    this.#lastProgress.set(record.key, now);
    this.#progress(record);
  }

  #progress(record: DownloadRecord): void {
    this.events.emit('progress', this.#toProgress(record));
  }

  /** A download as every command, the list and the live events show it (progress.ts). */
  #toProgress(record: DownloadRecord): Progress {
    return toProgress(record, this.#active.get(record.key), this.#now());
  }

  /** The newest downloads; a done one whose file is no longer where it was saved says so (`gone`). */
  async list(limit = 100): Promise<Progress[]> {
    const listed: Progress[] = [];
    // One file at a time: a list of 1,000 finished downloads must not open 1,000 files at once.
    for (const record of this.#ports.store.list(limit)) {
      const progress = this.#toProgress(record);
      if (record.state === 'done' && record.finalPath !== undefined && !(await this.#exists(record.finalPath)))
        progress.gone = true;
      listed.push(progress);
    }
    return listed;
  }

  /** One download as it is now (NOT_FOUND when no download has `key`). */
  progress(key: string): Progress {
    return this.#toProgress(this.get(key));
  }

  get(key: string): DownloadRecord {
    const record = this.#ports.store.get(key);
    if (!record) throw new PeershareError('NOT_FOUND', `no download has key ${key}`);
    return record;
  }

  /** Park a download: it stops, keeps its verified chunks, and its job leaves the queue until resumed. */
  async pause(key: string): Promise<Progress> {
    const record = this.get(key);
    if (!['done', 'cancelled', 'finalizing'].includes(record.state)) {
      this.#setState(key, 'paused');
      await this.#interrupt(key, 'pause');
    }
    return this.progress(key);
  }

  async resume(key: string): Promise<Progress> {
    const record = this.get(key);
    if (record.state !== 'paused' && record.state !== 'failed') return this.#toProgress(record);
    return this.request({
      fileId: record.fileId,
      name: record.name,
      sources: record.sources.filter(isSource),
      outDir: record.outDir,
    });
  }

  /** Stop a download for good and delete its partial file. One that is finishing is let finish. */
  async cancel(key: string): Promise<Progress> {
    const record = this.get(key);
    if (record.state !== 'done' && record.state !== 'finalizing') {
      this.#setState(key, 'cancelled');
      await this.#interrupt(key, 'cancel');
      await this.#removePartial(record);
    }
    return this.progress(key);
  }

  /**
   * Forget every download that ended (done, failed, cancelled), so the list shows what runs or
   * waits; a finished file stays where it was saved (and shared). Returns the keys forgotten.
   */
  clear(): string[] {
    const keys = this.#ports.store.forget(ENDED_STATES);
    // Followers drop them (a 'cleared' event: no progress event will come for them again).
    if (keys.length > 0) this.events.emit('cleared', keys);
    return keys;
  }

  /** Abort every running transfer without settling its delivery (the queue hands it back). */
  async stop(): Promise<void> {
    this.#stopping = true;
    await Promise.all([...this.#active.keys()].map((key) => this.#interrupt(key, 'stop')));
  }

  /** Stop a running transfer on purpose and wait until its delivery is settled. */
  async #interrupt(key: string, why: Interruption['why']): Promise<void> {
    const active = this.#active.get(key);
    if (!active) return;
    active.controller.abort(new Interruption(why));
    await active.done.catch(() => undefined);
  }

  #setState(key: string, state: DownloadRecord['state'], error?: string): void {
    const record = this.#ports.store.get(key);
    if (!record) return;
    const next: DownloadRecord = { ...record, state, updatedAt: this.#now() };
    if (error) next.error = error;
    else delete next.error;
    this.#ports.store.put(next);
    this.#progress(next);
  }

  /**
   * A file this peer already shares (the user's own, or an earlier download elsewhere) is not
   * downloaded a second time into the downloads folder: ALREADY_SHARED says where it is. Asked
   * for a folder of its own, the copy is made. When File Management does not answer, the
   * download goes ahead (at worst a second copy).
   */
  async #notSharedHere(fileId: string): Promise<void> {
    const shared = await this.#ports.registry.sharedAt(fileId).catch(() => undefined);
    if (shared === undefined) return;
    // A share whose file the user has since deleted holds nothing (File Management finds out when asked for it).
    const paths: string[] = [];
    for (const path of shared) if (await this.#exists(path)) paths.push(path);
    if (shared.length > 0 && paths.length === 0) return;
    const where = paths.length > 0 ? `at ${paths.join(', ')}` : 'as an upload in its store';
    throw new PeershareError(
      'ALREADY_SHARED',
      `this peer already shares file ${fileId} ${where}: nothing downloaded; ask for another folder (--out DIR) to get a copy there`,
      { fileId, paths },
    );
  }

  /** Whether a done download's file is still where it was saved. */
  async #stillThere(record: DownloadRecord): Promise<boolean> {
    return record.finalPath !== undefined && (await this.#exists(record.finalPath));
  }

  async #exists(path: string): Promise<boolean> {
    const file = await this.#ports.files.openFinished(path).catch(() => undefined);
    await file?.close();
    return file !== undefined;
  }

  #emit(event: Record<string, unknown>): void {
    this.events.emit('event', event);
  }

  /** Run `fn` every `ms` until the returned function is called. */
  #every(ms: number, fn: () => void): Cancel {
    const { clock } = this.#options;
    let cancel = clock.schedule(ms, function tick() {
      fn();
      cancel = clock.schedule(ms, tick);
    });
    return () => cancel();
  }

  #now(): number {
    return this.#options.clock.epochMs();
  }
}

/** What each source of a running download delivered, most bytes first. */
