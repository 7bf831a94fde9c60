/**
 * Name matching for search: names and queries are folded the same way (Unicode NFKD, accents
 * dropped, lower case) and cut into tokens of letters and digits. A name matches a query when
 * every query term is a prefix of one of the name's tokens.
 */

import { MAX_TERMS } from '../../protocol/limits.ts';

// Latin letters that Unicode does not decompose into a base letter and an accent.
const UNDECOMPOSED: Record<string, string> = {
  ø: 'o',
  đ: 'd',
  ł: 'l',
  ħ: 'h',
  ß: 'ss',
  æ: 'ae',
  œ: 'oe',
  þ: 'th',
  ı: 'i',
};
const UNDECOMPOSED_RE = new RegExp(`[${Object.keys(UNDECOMPOSED).join('')}]`, 'g');

/** Fold case and accents: "Élan Vital" → "elan vital", "Øre" → "ore". */
export function fold(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(UNDECOMPOSED_RE, (c) => UNDECOMPOSED[c]!);
}

/** The searchable tokens of a name: "Ubuntu-22.04 Désktop.iso" → ["ubuntu","22","04","desktop","iso"]. */
export function tokenize(text: string): string[] {
  return fold(text)
    .split(/[^\p{L}\p{N}]+/u)
    .filter((t) => t.length > 0);
}

/** Query terms, deduplicated and capped at MAX_TERMS. */
export function parseTerms(query: string | readonly string[]): string[] {
  const raw = typeof query === 'string' ? [query] : query;
  return [...new Set(raw.flatMap(tokenize))].slice(0, MAX_TERMS);
}

/** Whether every term is a prefix of some token of `name` (the reference for the catalog's index). */
export function matchesAll(name: string, terms: readonly string[]): boolean {
  const tokens = tokenize(name);
  return terms.every((term) => tokens.some((token) => token.startsWith(term)));
}
