import { describe, expect, it } from 'vitest';
import type { SearchHit } from '../../ports.ts';
import { fileTable, groupHits, summaryLine } from './search.ts';

const id = (c: string) => c.repeat(64);
const hit = (fileId: string, name: string, holder: string, hops: number, size = 2048): SearchHit => ({
  fileId,
  name,
  size,
  holderPeerId: holder,
  filesAddress: `${holder}:7871`,
  hops,
});

describe('search output', () => {
  const hits = [
    hit(id('a'), 'tram.mp4', 'p1', 3),
    hit(id('b'), 'lisbon.txt', 'p1', 1, 10),
    hit(id('a'), 'tram.mp4', 'p2', 1),
    hit(id('a'), 'tram copy.mp4', 'p3', 2),
  ];

  it('groups hits by file: holders counted once each, the fewest hops, most held first', () => {
    expect(groupHits(hits)).toEqual([
      { fileId: id('a'), name: 'tram.mp4', size: 2048, holders: 3, bestHops: 1 },
      { fileId: id('b'), name: 'lisbon.txt', size: 10, holders: 1, bestHops: 1 },
    ]);
  });

  it('puts the id beside the file when the width allows, else on the line below; a long name is cut to fit', () => {
    const files = groupHits([...hits, hit(id('c'), `${'long '.repeat(30)}name.bin`, 'p1', 2)]);
    const wide = fileTable(files, 160).split('\n').filter(Boolean);
    expect(wide[0]).toMatch(new RegExp(`^tram\\.mp4 +2\\.0 KiB  3 holders  1 hop   ${id('a')}$`));
    expect(wide[0]).toHaveLength(160); // the name column takes what the others leave
    expect(wide.map((l) => l.length).every((n) => n === wide[0]!.length)).toBe(true);
    const narrow = fileTable(files, 80).split('\n').filter(Boolean);
    expect(narrow).toHaveLength(6);
    expect(narrow[1]).toBe(`  id ${id('a')}`);
    expect(narrow[4]).toMatch(/^long long .*… +2\.0 KiB {2}1 holder {3}2 hops$/);
    for (const line of narrow) expect(line.length).toBeLessThanOrEqual(80);
  });

  it('lists a shared folder as NAME/ with its number of files, and counts folders apart from files', () => {
    const files = groupHits([...hits, { ...hit(id('d'), 'lisbon trip', 'p2', 1, 5 * 1024), folder: { files: 12 } }]);
    expect(files.find((f) => f.fileId === id('d'))).toMatchObject({ name: 'lisbon trip', folder: { files: 12 } });
    const lines = fileTable(files, 160).split('\n');
    expect(lines.find((l) => l.includes(id('d')))).toMatch(/^lisbon trip\/ \(12 files\) +5\.0 KiB  1 holder /);
    const summary = {
      queryKey: 'k',
      peersAnswered: 3,
      hits: 5,
      duplicatesDropped: 0,
      elapsedMs: 1200,
      ended: 'deadline' as const,
    };
    expect(summaryLine(summary, 2, 1)).toBe(
      '2 files and 1 folder: 5 hits from 3 peers in 1.2s (0 duplicates dropped, ended: deadline)\n',
    );
  });
});
