import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ROUTE_TABLE_OWN_MIN_BITS_LOG2 } from '../../protocol/route-table.ts';
import { routeTableOf } from './route-table-of.ts';
import { matchesAll, parseTerms, tokenize } from './terms.ts';

const fileId = (n: number) => n.toString(16).padStart(64, '0');

/** Names as people write them: words of letters (some accented) and digits, cut by separators. */
const word = fc.stringMatching(/^[a-zA-Z0-9éÉøßü]{1,16}$/);
const name = fc
  .tuple(fc.array(word, { minLength: 1, maxLength: 6 }), fc.constantFrom(' ', '-', '_', '.', ' - '))
  .map(([words, separator]) => words.join(separator));

describe('routeTableOf', () => {
  it('may match every query the names match by the catalog rule (a term prefixes a token), and every id', () => {
    fc.assert(
      fc.property(
        fc.array(name, { minLength: 1, maxLength: 40 }),
        fc.array(fc.tuple(fc.nat(), fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), fc.nat())),
        (names, picks) => {
          const table = routeTableOf(names.map((n, i) => ({ id: fileId(i), name: n })));
          for (const [which, tokenPicks, cut] of picks) {
            // A query made of prefixes of one name's tokens, as a user would type them.
            const tokens = tokenize(names[which % names.length]!);
            const terms = parseTerms(tokenPicks.map((t) => tokens[t % tokens.length]!.slice(0, 1 + (cut % 16))));
            if (names.some((n) => matchesAll(n, terms))) expect(table.mayMatch(terms, '')).toBe(true);
          }
          names.forEach((_, i) => expect(table.mayMatch([], fileId(i))).toBe(true));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('rules out most queries nothing matches, and grows with the keys', () => {
    const few = routeTableOf([{ id: fileId(1), name: 'Ubuntu-22.04 Désktop.iso' }]);
    expect(few.bits).toBe(2 ** ROUTE_TABLE_OWN_MIN_BITS_LOG2);
    expect(few.mayMatch(['desk'], '')).toBe(true);
    expect(few.mayMatch(['windows'], '')).toBe(false);
    expect(few.mayMatch([], fileId(2))).toBe(false);
    const many = routeTableOf(
      Array.from({ length: 5_000 }, (_, i) => ({ id: fileId(i), name: `track ${i} of album ${i * 7}` })),
    );
    expect(many.bits).toBeGreaterThan(few.bits);
    expect(many.fill).toBeLessThan(0.2);
  });
});
