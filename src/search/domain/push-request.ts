/**
 * Asking a firewalled holder to connect back (PUSH, docs/PROTOCOL.md §6a), the requester's one
 * way whichever process asks: the Download beside it (one process) or over Search's local
 * `POST /push` (split mode). A Push follows the path the holder's hits came by; a download by id
 * runs no search, so when there is neither a link to the holder nor such a route, search for the
 * file first (ended by the holder's own hit), which teaches the route.
 */
import type { SearchEngine } from './search-engine.ts';

/** The longest a search that looks for a route to a firewalled holder runs. */
export const ROUTE_SEARCH_MS = 3_000;

/**
 * Send a Push asking `holder` to connect back for `fileId` to our files address `filesAddress`
 * (the one our signed record lists), learning a route first when there is none. False when none
 * was sent (no route, over the per-holder limit, or `signal` aborted first).
 */
export async function requestPushWithRoute(
  engine: SearchEngine,
  holder: string,
  fileId: string,
  filesAddress: string,
  signal: AbortSignal,
): Promise<boolean> {
  if (!engine.canRoutePush(holder)) await learnRoute(engine, holder, fileId, signal);
  if (signal.aborted) return false;
  return engine.requestPush(holder, fileId, filesAddress);
}

/** Search the network for `fileId` until `holder` answers (its hit teaches the route) or the search ends. */
async function learnRoute(engine: SearchEngine, holder: string, fileId: string, signal: AbortSignal): Promise<void> {
  let active: ReturnType<SearchEngine['search']>;
  try {
    active = engine.search({ fileId, timeoutMs: ROUTE_SEARCH_MS });
  } catch {
    return; // this peer's own search rate is spent: the push goes without, and may find no route
  }
  const stop = () => active.end('cancelled');
  signal.addEventListener('abort', stop, { once: true });
  active.onHit((hit) => {
    if (hit.holderPeerId === holder) active.end('cancelled');
  });
  try {
    await active.done;
  } finally {
    signal.removeEventListener('abort', stop);
  }
}
