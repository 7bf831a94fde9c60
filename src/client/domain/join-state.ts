/**
 * Whether this peer has joined the network, as `peershare status` shows it: read from the Fetch
 * service's health (in process or over HTTP, so the shape is checked here). "joining" means
 * join addresses were given and none has answered yet; Fetch keeps retrying with backoff.
 */
import type { JoinState } from '../ports.ts';

const STATES = new Set(['stopped', 'joining', 'joined', 'alone']);

/** From Fetch's health or status: its `state` and `failedJoinAttempts`. */
export function joinStateOf(health: unknown): JoinState | null {
  const { state, failedJoinAttempts } = (typeof health === 'object' && health !== null ? health : {}) as Record<
    string,
    unknown
  >;
  if (typeof state !== 'string' || !STATES.has(state)) return null;
  return {
    state: state as JoinState['state'],
    failedAttempts: typeof failedJoinAttempts === 'number' ? failedJoinAttempts : 0,
  };
}

/** One line for people. */
export function describeJoinState(j: JoinState | null): string {
  if (!j) return '?';
  switch (j.state) {
    case 'joined':
      return 'joined';
    case 'joining':
      return `joining: no join address answered yet${j.failedAttempts > 0 ? ` (${j.failedAttempts} attempt${j.failedAttempts === 1 ? '' : 's'})` : ''}; retrying in the background`;
    case 'alone':
      return 'alone: no join address given and no peer has called yet (start with --join HOST)';
    case 'stopped':
      return 'stopped';
  }
}
