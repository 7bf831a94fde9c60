import { describe, expect, it } from 'vitest';
import { FilesNews } from './files-news.ts';
import type { PeerRecord } from './peer-record.ts';
import { seededRandom } from './random.ts';

/** Only the fields FilesNews reads. */
const rec = (peerId: string, filesVersion?: number, status: PeerRecord['status'] = 'alive') =>
  ({ peerId, status, ...(filesVersion !== undefined ? { filesVersion } : {}) }) as PeerRecord;

const config = { filesNewsPerRound: 2, filesNewsSpreadRounds: 1, filesNewsAsksPerSharerRound: 100, maxFilesNews: 3 };

describe('FilesNews', () => {
  it('sees news only in a higher filesVersion of a peer held, alive', () => {
    const held = new Map([
      ['a', rec('a', 5)],
      ['b', rec('b')],
      ['c', rec('c', 9)],
    ]);
    const moved = FilesNews.moved([rec('a', 6), rec('b', 1), rec('c', 9), rec('d', 3), rec('a', 7, 'left')], (id) =>
      held.get(id),
    );
    expect(moved.map((r) => r.peerId)).toEqual(['a', 'b']);
  });

  it('holds at most maxFilesNews, asks at most filesNewsPerRound a round, and forgets chosen and gone peers', () => {
    const news = new FilesNews(config, seededRandom(1));
    news.note([rec('a', 1), rec('b', 1), rec('c', 1), rec('d', 1)], () => true, 10, 0);
    expect(news.size).toBe(3); // d found it full
    expect(news.pick([], () => true, 0)).toEqual([]); // due from round 1
    const first = news.pick(['a'], (id) => id !== 'b', 1); // a asked anyway, b gone
    expect(first).toEqual(['c']);
    expect(news.size).toBe(0);
  });

  it('spreads the asks over ceil(peers held / filesNewsAsksPerSharerRound) rounds', () => {
    const news = new FilesNews({ ...config, filesNewsPerRound: 1_000, maxFilesNews: 1_000 }, seededRandom(2));
    news.note(
      Array.from({ length: 400 }, (_, i) => rec(`p${i}`, 1)),
      () => true,
      1_000, // 1,000 peers held, 100 asks a round: waits of 0 to 9 rounds
      0,
    );
    const perRound = Array.from({ length: 11 }, (_, round) => news.pick([], () => true, round + 1).length);
    expect(perRound.slice(0, 10).reduce((a, b) => a + b, 0)).toBe(400); // every one due by round 10
    expect(perRound[10]).toBe(0);
    expect(Math.max(...perRound)).toBeLessThan(80); // about 40 a round, not 400 at once
    expect(Math.min(...perRound.slice(0, 10))).toBeGreaterThan(15);
  });
});
