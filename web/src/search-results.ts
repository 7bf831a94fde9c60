/**
 * Search hits as the UI lists them: one row per file (the same content held by several peers is
 * one download), its holders with their distance in hops, and which peers answered at all.
 */
import type { SearchHit } from './types.ts';

export interface Holder {
  peerId: string;
  hops: number;
}

export interface FileResult {
  fileId: string;
  name: string;
  /** Other names holders share it under. */
  otherNames: string[];
  size: number;
  holders: Holder[];
  /** Present for a shared folder: fileId is its collection id, size its files' sum. */
  folder?: { files: number };
}

/** One row per file id, the files most peers hold first, then the nearest, then by name. */
export function groupHits(hits: readonly SearchHit[]): FileResult[] {
  const byId = new Map<string, FileResult>();
  for (const hit of hits) {
    let row = byId.get(hit.fileId);
    if (!row) {
      row = {
        fileId: hit.fileId,
        name: hit.name,
        otherNames: [],
        size: hit.size,
        holders: [],
        ...(hit.folder ? { folder: { files: hit.folder.files } } : {}),
      };
      byId.set(hit.fileId, row);
    } else if (hit.name !== row.name && !row.otherNames.includes(hit.name)) {
      row.otherNames.push(hit.name);
    }
    const holder = row.holders.find((h) => h.peerId === hit.holderPeerId);
    if (!holder) row.holders.push({ peerId: hit.holderPeerId, hops: hit.hops });
    else holder.hops = Math.min(holder.hops, hit.hops);
  }
  const rows = [...byId.values()];
  for (const row of rows) row.holders.sort((a, b) => a.hops - b.hops || (a.peerId < b.peerId ? -1 : 1));
  const nearest = (r: FileResult) => r.holders[0]?.hops ?? Infinity;
  return rows.sort(
    (a, b) => b.holders.length - a.holders.length || nearest(a) - nearest(b) || a.name.localeCompare(b.name),
  );
}

/** Every peer that answered, with the fewest hops any of its hits travelled. */
export function answeredPeers(hits: readonly SearchHit[]): Map<string, number> {
  const peers = new Map<string, number>();
  for (const hit of hits) peers.set(hit.holderPeerId, Math.min(peers.get(hit.holderPeerId) ?? Infinity, hit.hops));
  return peers;
}
