/**
 * The first network step of a download: get the file's manifest. Several sources are asked at
 * once and the first answer that proves itself wins (its id is the file asked for, and its chunk
 * hashes hash to that id); the requests still out are aborted. Every request has a deadline, so
 * a source that accepts a connection and never answers costs one deadline, never the download,
 * and the whole step has one too: a job listing many silent sources gives up its download slot
 * after MANIFEST_STEP_TIMEOUT_MS, not after a deadline per source.
 * Sources that failed or lied are left out of the transfer; the others (slower, or not asked
 * yet) stay in it.
 */
import { systemClock, type Cancel, type Clock } from '../../shared/clock.ts';
import { isManifestConsistent, type Manifest } from '../../shared/content.ts';
import { PeershareError } from '../../shared/errors.ts';
import type { ChunkSource } from '../ports.ts';

/** How long one source has to deliver a manifest (connect, answer and body). */
export const MANIFEST_TIMEOUT_MS = 15_000;
/** Sources asked at once; when one fails, the next is asked. Bounded: a manifest can be megabytes. */
export const MANIFEST_PARALLEL = 3;
/** How long the whole step may take, however many sources are left to ask (three rounds of the default). */
export const MANIFEST_STEP_TIMEOUT_MS = 45_000;
/** Failures named in the error when no source answered; the rest are counted. */
const REASONS_SHOWN = 3;

export interface ManifestOptions {
  /** Per source. */
  timeoutMs: number;
  parallel: number;
  /** For the whole step. */
  stepTimeoutMs: number;
}

export const DEFAULT_MANIFEST_OPTIONS: ManifestOptions = {
  timeoutMs: MANIFEST_TIMEOUT_MS,
  parallel: MANIFEST_PARALLEL,
  stepTimeoutMs: MANIFEST_STEP_TIMEOUT_MS,
};

export interface ManifestFailure {
  source: string;
  reason: string;
  /** The error code, when the failure was a PeershareError (PEER_ID_MISMATCH: not the peer named). */
  code?: string;
}

export interface ManifestRace {
  chunkSource: ChunkSource;
  fileId: string;
  sources: readonly string[];
  signal: AbortSignal;
  options?: Partial<ManifestOptions>;
  /** The deadlines' timers (default: the machine's). */
  clock?: Clock;
  /** Told of every source that failed or lied, as it happens (for logs). */
  onFailure?: (failure: ManifestFailure) => void;
}

export interface ManifestWinner {
  manifest: Manifest;
  source: string;
  /** The sources in their given order, without those that failed. */
  usable: string[];
}

/** Why a request was ended on our side: another source won, or the download stopped. */
const LOST = new PeershareError('UNAVAILABLE', 'another source answered first');
/** Why a request was ended on our side: the step ran out of time. */
const STEP_OVER = new PeershareError('UNAVAILABLE', 'the manifest step ran out of time');

/**
 * The first verified manifest of `fileId` among `sources`. Rejects with UNAVAILABLE when none
 * delivered one (saying why), or with the signal's reason when aborted.
 */
export function raceManifests(ctx: ManifestRace): Promise<ManifestWinner> {
  const { timeoutMs, parallel, stepTimeoutMs } = { ...DEFAULT_MANIFEST_OPTIONS, ...ctx.options };
  const sources = [...new Set(ctx.sources)];
  const failures: ManifestFailure[] = [];
  const asking = new Map<string, AbortController>();
  let next = 0;
  let settled = false;
  const clock = ctx.clock ?? systemClock;
  let cancelStep: Cancel = () => {};

  return new Promise<ManifestWinner>((resolve, reject) => {
    const settle = (outcome: () => void, why = LOST) => {
      settled = true;
      cancelStep();
      ctx.signal.removeEventListener('abort', onAbort);
      for (const controller of asking.values()) controller.abort(why);
      asking.clear();
      outcome();
    };
    const onAbort = () => settle(() => reject(ctx.signal.reason));
    const outOfTime = () => {
      const silent = [...asking.keys()].map((source) => `${source}: no answer yet`);
      const reasons = [...failures.map((f) => f.reason), ...silent];
      const within = `within ${stepTimeoutMs} ms, the deadline of the manifest step; ${next} of ${sources.length} sources asked`;
      settle(() => reject(noManifest(ctx.fileId, sources.length, reasons, within)), STEP_OVER);
    };

    const askMore = () => {
      while (asking.size < Math.max(1, parallel) && next < sources.length) void ask(sources[next++]!);
      if (asking.size === 0)
        settle(() =>
          reject(
            noManifest(
              ctx.fileId,
              sources.length,
              failures.map((f) => f.reason),
            ),
          ),
        );
    };

    const failed = (source: string, reason: string, code?: string) => {
      asking.delete(source);
      if (settled) return;
      const failure: ManifestFailure = {
        source,
        reason: reason.includes(source) ? reason : `${source}: ${reason}`,
        ...(code ? { code } : {}),
      };
      failures.push(failure);
      try {
        ctx.onFailure?.(failure);
      } catch {
        // a listener's fault is not this download's
      }
      askMore();
    };

    const won = (source: string, manifest: Manifest) => {
      asking.delete(source);
      if (settled) return;
      const usable = sources.filter((s) => !failures.some((f) => f.source === s));
      settle(() => resolve({ manifest, source, usable }));
    };

    const ask = async (source: string) => {
      const controller = new AbortController();
      asking.set(source, controller);
      const cancelTimer = clock.schedule(timeoutMs, () =>
        controller.abort(new PeershareError('UNAVAILABLE', `no manifest within ${timeoutMs} ms`)),
      );
      try {
        await Promise.resolve(); // asked after the caller's loop, so a race already over asks no one
        if (controller.signal.aborted) throw controller.signal.reason;
        // The deadline holds even for an adapter that does not honour the signal at once.
        const manifest = await untilAborted(
          ctx.chunkSource.manifest(source, ctx.fileId, controller.signal),
          controller.signal,
        );
        const lie = whyRefused(manifest, ctx.fileId);
        if (lie) failed(source, lie);
        else won(source, manifest);
      } catch (err) {
        const reason: unknown = controller.signal.aborted ? controller.signal.reason : err;
        failed(
          source,
          (reason as Error)?.message ?? String(reason),
          reason instanceof PeershareError ? reason.code : undefined,
        );
      } finally {
        cancelTimer();
      }
    };

    if (ctx.signal.aborted) {
      reject(ctx.signal.reason);
      return;
    }
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    cancelStep = clock.schedule(stepTimeoutMs, outOfTime);
    askMore();
  });
}

/** Why a manifest is refused (undefined when it is the verified manifest of `fileId`). */
function whyRefused(manifest: Manifest, fileId: string): string | undefined {
  if (typeof manifest !== 'object' || manifest === null || !Array.isArray(manifest.chunks))
    return 'sent a malformed manifest';
  if (manifest.id !== fileId) return `sent the manifest of another file (${String(manifest.id).slice(0, 16)}…)`;
  if (!isManifestConsistent(manifest)) return 'sent a manifest whose chunk hashes do not match its id';
  return undefined;
}

/** UNAVAILABLE, saying why source by source (`within`: when the step's deadline ended it). */
function noManifest(fileId: string, known: number, reasons: string[], within?: string): PeershareError {
  if (known === 0) return new PeershareError('UNAVAILABLE', `no known source for ${fileId}`);
  const shown = reasons.slice(0, REASONS_SHOWN);
  const more = reasons.length > REASONS_SHOWN ? `; and ${reasons.length - REASONS_SHOWN} more` : '';
  const when = within ? ` ${within}` : '';
  return new PeershareError(
    'UNAVAILABLE',
    `no source answered with the manifest of ${fileId}${when} (${shown.join('; ')}${more})`,
  );
}

/** `promise`, or a rejection with the signal's reason as soon as it is aborted. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
