import { describe, expect, it } from 'vitest';
import { ChunkHasher, hashBytes, isManifestConsistent, MAX_CHUNK_SIZE, toManifest, verifyChunk } from './content.ts';

const MiB = 1024 * 1024;

// Expected values computed independently (Python hashlib) from the definition in content.ts.
const VECTORS = [
  {
    label: 'an empty file',
    data: Buffer.alloc(0),
    chunkSize: MiB,
    id: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    chunks: [],
  },
  {
    label: 'a 1-byte file',
    data: Buffer.from('a'),
    chunkSize: MiB,
    id: 'bf5d3affb73efd2ec6c36ad3112dd933efed63c4e1cbffcfa88e2759c144f2d8',
    chunks: ['ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb'],
  },
  {
    label: 'exactly one chunk',
    data: Buffer.alloc(MiB),
    chunkSize: MiB,
    id: '599d71033d700ac892a0e48fa61b125d2f59941bb45da1909444d43c6ee0bab2',
    chunks: ['30e14955ebf1352266dc2ff8067e68104607e750abb9d3b36582b8af909fcb58'],
  },
  {
    label: 'one chunk and one byte',
    data: Buffer.concat([Buffer.alloc(MiB), Buffer.from([1])]),
    chunkSize: MiB,
    id: '3c7baf55cd7220340db9b4e21aee7346f2034894e646bdd7bafc215f1cdeb824',
    chunks: [
      '30e14955ebf1352266dc2ff8067e68104607e750abb9d3b36582b8af909fcb58',
      '4bf5122f344554c53bde2ebb8cd2b7e3d1600ad631c385a5d7cce23c7785459a',
    ],
  },
  {
    label: 'several chunks with a short last one',
    data: Buffer.from('abcdefghij'),
    chunkSize: 4,
    id: '39bca6fa3619f67ee4d6f8df51491558560f429920593f7f649119ba3f285ed9',
    chunks: [
      '88d4266fd4e6338d13b845fcf289579d209c897823b9217da3e161936f031589',
      'e5e088a0b66163a0a26a5e053d2a4496dc16ab6e0e3dd1adf2d16aa84a078c9d',
      'c9df9c3f2963b19b9b95f58c4d33b053fa9f8586dd6ee04126e52a868f882108',
    ],
  },
];

describe('content addressing', () => {
  it.each(VECTORS)('hashes $label to its fixed id and chunk hashes', ({ data, chunkSize, id, chunks }) => {
    const manifest = toManifest(hashBytes(data, chunkSize), 'x');
    expect(manifest.id).toBe(id);
    expect(manifest.chunks).toEqual(chunks);
    expect(manifest.size).toBe(data.length);
    expect(manifest.chunkSize).toBe(chunkSize);
    expect(isManifestConsistent(manifest)).toBe(true);
  });

  it('gives the same id however the bytes are split into pieces', () => {
    const data = Buffer.from('abcdefghij');
    for (const piece of [1, 3, 4, 7, 10]) {
      const hasher = new ChunkHasher(4);
      for (let i = 0; i < data.length; i += piece) hasher.update(data.subarray(i, i + piece));
      expect(hasher.digest().id).toBe(VECTORS[4]!.id);
    }
  });

  it('verifies each chunk on its own and rejects a tampered or truncated one', () => {
    const manifest = toManifest(hashBytes(Buffer.from('abcdefghij'), 4), 'x');
    expect(verifyChunk(manifest, 0, Buffer.from('abcd'))).toBe(true);
    expect(verifyChunk(manifest, 2, Buffer.from('ij'))).toBe(true);
    expect(verifyChunk(manifest, 0, Buffer.from('abce'))).toBe(false);
    expect(verifyChunk(manifest, 2, Buffer.from('i'))).toBe(false);
    expect(verifyChunk(manifest, 3, Buffer.from(''))).toBe(false);
  });

  it('detects a manifest whose id, size or chunk list do not agree', () => {
    const manifest = toManifest(hashBytes(Buffer.from('abcdefghij'), 4), 'x');
    expect(isManifestConsistent({ ...manifest, size: 13 })).toBe(false);
    expect(isManifestConsistent({ ...manifest, chunks: manifest.chunks.slice(1) })).toBe(false);
    expect(isManifestConsistent({ ...manifest, id: VECTORS[0]!.id })).toBe(false);
  });

  it('refuses a manifest that declares chunks larger than a downloader holds', () => {
    expect(isManifestConsistent(toManifest(hashBytes(Buffer.alloc(10), MAX_CHUNK_SIZE), 'x'))).toBe(true);
    expect(isManifestConsistent(toManifest(hashBytes(Buffer.alloc(10), MAX_CHUNK_SIZE + 1), 'x'))).toBe(false);
  });
});
