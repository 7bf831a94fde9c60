/**
 * Choosing what `get --name` downloads: of the files a search found, the one the most peers
 * hold (more sources make a faster, sturdier download), ties going to the one found first.
 */
import { addressOfUrl, formatPeerAddress, isAddress } from '../../shared/peer-address.ts';
import type { SearchHit } from '../ports.ts';

export interface Pick {
  fileId: string;
  /** The name most of its holders share it under. */
  name: string;
  size: number;
  /** Its holders' File Management, each `peerId@host:port` (the id a download pins the address to). */
  sources: string[];
  holders: number;
}

function mostCommon(values: string[]): string {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best = values[0]!;
  for (const [v, n] of counts) if (n > counts.get(best)!) best = v;
  return best;
}

/** The file most peers hold among the hits, or undefined when there are none. */
export function pickMostHeld(hits: readonly SearchHit[]): Pick | undefined {
  const byFile = new Map<string, SearchHit[]>();
  for (const hit of hits) byFile.set(hit.fileId, [...(byFile.get(hit.fileId) ?? []), hit]);
  let best: SearchHit[] | undefined;
  const holders = (group: SearchHit[]) => new Set(group.map((h) => h.holderPeerId)).size;
  for (const group of byFile.values()) if (!best || holders(group) > holders(best)) best = group;
  if (!best) return undefined;
  return {
    fileId: best[0]!.fileId,
    name: mostCommon(best.map((h) => h.name)),
    size: best[0]!.size,
    sources: [...new Set(best.map(sourceOfHit).filter((s) => s !== undefined))],
    holders: holders(best),
  };
}

/**
 * The download source a hit names: its holder's id at its File Management address (a base URL
 * such as http://host:port, or a bare host:port); undefined when the address is not one.
 */
export function sourceOfHit(hit: SearchHit): string | undefined {
  const address = isAddress(hit.filesAddress) ? hit.filesAddress : addressOfUrl(hit.filesAddress);
  return address === undefined ? undefined : formatPeerAddress({ peerId: hit.holderPeerId, address });
}
