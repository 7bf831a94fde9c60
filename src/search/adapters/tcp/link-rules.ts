/**
 * Rules of the overlay (docs/PROTOCOL.md §7, §8) as plain functions over the link manager's
 * entries: which of two links to the same peer both ends keep, whether an inbound connection is
 * over a per-address, per-subnet or pending cap, and what of a Hit a link's features let it carry.
 */
import type { Hit } from '../../../protocol/gen/wire_pb.ts';
import { FEATURE_FOLDERS } from '../../../protocol/limits.ts';

/**
 * `hit` as a link with these negotiated features may carry it, sent or received: folder results
 * only where "folders" was negotiated (a peer of the release before would take a folder for a
 * file). Undefined when nothing is left to carry.
 */
export function hitForLink(hit: Hit, features: readonly string[]): Hit | undefined {
  if (features.includes(FEATURE_FOLDERS) || !hit.results.some((r) => r.folder)) return hit;
  const results = hit.results.filter((r) => !r.folder);
  return results.length === 0 ? undefined : { ...hit, results };
}

interface LinkFacts {
  readonly direction: 'inbound' | 'outbound';
  readonly remoteIp: string;
  readonly subnet: string;
  readonly session: { readonly localNonce: Uint8Array; readonly remote?: { readonly nonce: Uint8Array } | undefined };
}

/**
 * Of two links between the same pair of peers, the one both ends keep: the one dialled by the
 * lower peer id; if the same peer dialled both, the one whose dialler's Hello nonce is lower.
 * Both ends see the same ids and nonces, so they agree without another message.
 */
export function preferred<E extends LinkFacts>(a: E, b: E, own: string, remote: string): E {
  const dialler = (e: E) => (e.direction === 'outbound' ? own : remote);
  const lower = own < remote ? own : remote;
  if (dialler(a) !== dialler(b)) return dialler(a) === lower ? a : b;
  const nonce = (e: E) => Buffer.from(e.direction === 'outbound' ? e.session.localNonce : e.session.remote!.nonce);
  return Buffer.compare(nonce(a), nonce(b)) <= 0 ? a : b;
}

export interface InboundCaps {
  /** Links or handshakes, either direction, with one remote address. */
  readonly perIp: number;
  /** Inbound links or handshakes from one subnet. */
  readonly perSubnet: number;
  /** Entries (links and handshakes) beyond which a new connection is refused. */
  readonly pending: number;
}

/**
 * Why a new inbound connection from `ip` (in `subnet`) must be refused, given the entries
 * already held (handshakes count too: a burst of half-open connections is capped as well).
 */
export function inboundRefusal(
  entries: readonly LinkFacts[],
  ip: string,
  subnet: string,
  caps: InboundCaps,
): { cap: keyof InboundCaps; message: string } | undefined {
  let fromIp = 0;
  let fromSubnet = 0;
  for (const e of entries) {
    if (e.remoteIp === ip) fromIp += 1;
    if (e.direction === 'inbound' && e.subnet === subnet) fromSubnet += 1;
  }
  if (fromIp >= caps.perIp) return { cap: 'perIp', message: `too many links from ${ip}` };
  if (fromSubnet >= caps.perSubnet) return { cap: 'perSubnet', message: `too many links from ${subnet}` };
  if (entries.length >= caps.pending) return { cap: 'pending', message: 'too many pending links' };
  return undefined;
}
