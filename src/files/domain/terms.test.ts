import { describe, expect, it } from 'vitest';
import { matchesAll, parseTerms, tokenize } from './terms.ts';

describe('search terms', () => {
  it('folds case and accents and splits on anything but letters and digits', () => {
    expect(tokenize('Ubuntu-22.04 Désktop.ISO')).toEqual(['ubuntu', '22', '04', 'desktop', 'iso']);
    expect(tokenize('ÉLAN_vital')).toEqual(['elan', 'vital']);
    expect(tokenize('Øresund Straße Æther')).toEqual(['oresund', 'strasse', 'aether']);
  });

  it('requires every term to prefix a word of the name', () => {
    expect(matchesAll('Ubuntu-22.04-desktop.iso', parseTerms('ubu desk'))).toBe(true);
    expect(matchesAll('Ubuntu-22.04-desktop.iso', parseTerms('UBUNTU Désktop'))).toBe(true);
    expect(matchesAll('Ubuntu-22.04-desktop.iso', parseTerms('ubuntu server'))).toBe(false);
    expect(matchesAll('Ubuntu-22.04-desktop.iso', parseTerms('buntu'))).toBe(false);
  });

  it('deduplicates and caps the terms of a query', () => {
    expect(parseTerms('a A á b')).toEqual(['a', 'b']);
    expect(parseTerms(Array.from({ length: 40 }, (_, i) => `t${i}`))).toHaveLength(16);
    expect(parseTerms('  ... ')).toEqual([]);
  });
});
