/**
 * Content addressing. A file is cut into fixed-size chunks (the last one may be shorter); each
 * chunk is hashed with SHA-256, and the file id is SHA-256 over the concatenated chunk hashes.
 * An empty file has no chunks, so its id is SHA-256 of the empty string. The manifest carries
 * everything a downloader needs to verify each chunk on its own.
 */
import { createHash, type Hash } from 'node:crypto';

export const DEFAULT_CHUNK_SIZE = 1024 * 1024;
export const HASH_BYTES = 32;
/** Largest chunk size a manifest may declare (a downloader holds a few chunks in memory). */
export const MAX_CHUNK_SIZE = 16 * 1024 * 1024;

export interface Manifest {
  /** File id: lowercase hex SHA-256 over the chunk hashes. */
  id: string;
  name: string;
  size: number;
  chunkSize: number;
  /** Lowercase hex SHA-256 of each chunk, in order. */
  chunks: string[];
}

export interface HashedContent {
  id: string;
  size: number;
  chunkSize: number;
  /** The chunk hashes, concatenated (HASH_BYTES each). */
  chunkHashes: Buffer;
}

export function chunkCount(size: number, chunkSize: number): number {
  return Math.ceil(size / chunkSize);
}

/** Byte range [start, end) of chunk `index`. */
export function chunkBounds(index: number, size: number, chunkSize: number): { start: number; end: number } {
  const start = index * chunkSize;
  return { start, end: Math.min(start + chunkSize, size) };
}

export function fileIdFromChunkHashes(chunkHashes: Uint8Array): string {
  return createHash('sha256').update(chunkHashes).digest('hex');
}

/**
 * Incremental chunk hasher: feed it the bytes of a file in order, in pieces of any size, and it
 * hashes each chunk as it streams by. Memory: one hash state plus 32 bytes per chunk.
 */
export class ChunkHasher {
  readonly chunkSize: number;
  #size = 0;
  #inChunk = 0;
  #hash: Hash | undefined;
  readonly #hashes: Buffer[] = [];

  constructor(chunkSize: number = DEFAULT_CHUNK_SIZE) {
    if (!Number.isSafeInteger(chunkSize) || chunkSize <= 0)
      throw new RangeError(`chunk size must be a positive integer, got ${chunkSize}`);
    this.chunkSize = chunkSize;
  }

  get size(): number {
    return this.#size;
  }

  update(data: Uint8Array): void {
    let offset = 0;
    while (offset < data.length) {
      const take = Math.min(this.chunkSize - this.#inChunk, data.length - offset);
      this.#hash ??= createHash('sha256');
      this.#hash.update(data.subarray(offset, offset + take));
      offset += take;
      this.#inChunk += take;
      this.#size += take;
      if (this.#inChunk === this.chunkSize) this.#closeChunk();
    }
  }

  digest(): HashedContent {
    if (this.#inChunk > 0) this.#closeChunk();
    const chunkHashes = Buffer.concat(this.#hashes);
    return { id: fileIdFromChunkHashes(chunkHashes), size: this.#size, chunkSize: this.chunkSize, chunkHashes };
  }

  #closeChunk(): void {
    this.#hashes.push(this.#hash!.digest());
    this.#hash = undefined;
    this.#inChunk = 0;
  }
}

export function hashBytes(data: Uint8Array, chunkSize: number = DEFAULT_CHUNK_SIZE): HashedContent {
  const hasher = new ChunkHasher(chunkSize);
  hasher.update(data);
  return hasher.digest();
}

export function toManifest(content: HashedContent, name: string): Manifest {
  const chunks: string[] = [];
  for (let i = 0; i < content.chunkHashes.length; i += HASH_BYTES) {
    chunks.push(content.chunkHashes.subarray(i, i + HASH_BYTES).toString('hex'));
  }
  return { id: content.id, name, size: content.size, chunkSize: content.chunkSize, chunks };
}

/** Whether a manifest is self-consistent: chunk count matches size, and the id matches the hashes. */
export function isManifestConsistent(m: Manifest): boolean {
  if (
    !Number.isSafeInteger(m.size) ||
    m.size < 0 ||
    !Number.isSafeInteger(m.chunkSize) ||
    m.chunkSize <= 0 ||
    m.chunkSize > MAX_CHUNK_SIZE
  )
    return false;
  if (m.chunks.length !== chunkCount(m.size, m.chunkSize)) return false;
  if (!m.chunks.every((h) => /^[0-9a-f]{64}$/.test(h))) return false;
  return fileIdFromChunkHashes(Buffer.from(m.chunks.join(''), 'hex')) === m.id;
}

/** Whether `data` is chunk `index` of the file the manifest describes. */
export function verifyChunk(m: Manifest, index: number, data: Uint8Array): boolean {
  const expected = m.chunks[index];
  if (expected === undefined) return false;
  const { start, end } = chunkBounds(index, m.size, m.chunkSize);
  return data.length === end - start && createHash('sha256').update(data).digest('hex') === expected;
}
