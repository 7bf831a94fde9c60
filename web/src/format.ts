/**
 * How the UI writes sizes, progress, times and hops. Sizes, durations and short ids come from
 * the `peershare` command's formatting, so the two read the same.
 */
import { bytes, duration, percent, shortId } from '../../src/client/cli/format.ts';

export { sourceRows } from '../../src/client/cli/format.ts';
import type { DownloadAction, DownloadProgress } from './types.ts';

export { bytes, duration, shortId };

type Progress = Pick<DownloadProgress, 'state' | 'bytesDone' | 'size' | 'rate' | 'etaSeconds' | 'sources'>;

/** How much of the file is here, 0 to 1 (a finished download is 1 even when its size is unknown). */
export function fraction(p: Progress): number {
  if (p.state === 'done') return 1;
  if (!p.size) return 0;
  return Math.min(1, Math.max(0, p.bytesDone / p.size));
}

export function percentLabel(p: Progress): string {
  return percent(p);
}

/** "1.2 MiB of 3.0 MiB · 512 KiB/s · 3s left · 2 sources": only what means something in this state. */
export function progressDetail(p: Progress): string {
  const parts = [p.size !== undefined ? `${bytes(p.bytesDone)} of ${bytes(p.size)}` : bytes(p.bytesDone)];
  if (p.state === 'running') {
    parts.push(`${bytes(Math.round(p.rate))}/s`);
    if (p.etaSeconds !== undefined) parts.push(`${duration(p.etaSeconds * 1000)} left`);
    parts.push(`${p.sources.length} source${p.sources.length === 1 ? '' : 's'}`);
  }
  return parts.join(' · ');
}

/** The actions that mean something for a download in this state. */
export function actionsFor(state: string): DownloadAction[] {
  switch (state) {
    case 'queued':
    case 'running':
      return ['pause', 'cancel'];
    case 'paused':
    case 'failed':
      return ['resume', 'cancel'];
    default:
      return [];
  }
}

/** "just now", "42 s ago", "5 min ago", "3 h ago", "2 d ago". */
export function ago(at: number, now: number): string {
  const s = Math.max(0, Math.round((now - at) / 1000));
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

export function hopsLabel(hops: number): string {
  return hops === 0 ? 'this peer' : `${hops} hop${hops === 1 ? '' : 's'}`;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
