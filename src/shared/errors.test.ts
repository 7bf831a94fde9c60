import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, fromWireCode, httpStatus, wireCode, type ErrorCode } from './errors.ts';

/** Rows of the table in docs/ERRORS.md: | `CODE` | HTTP | wire | meaning | */
function documentedCodes(): Map<string, { status: number; wire: number }> {
  const doc = readFileSync(new URL('../../docs/ERRORS.md', import.meta.url), 'utf8');
  const rows = new Map<string, { status: number; wire: number }>();
  for (const m of doc.matchAll(/^\|\s*`([A-Z_]+)`\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|/gm)) {
    rows.set(m[1]!, { status: Number(m[2]), wire: Number(m[3]) });
  }
  return rows;
}

describe('the error vocabulary', () => {
  it('is listed in docs/ERRORS.md exactly as the code defines it', () => {
    const documented = documentedCodes();
    const defined = new Map(
      Object.entries(ERROR_CODES).map(([code, spec]) => [code, { status: spec.status, wire: spec.wire }]),
    );
    expect(Object.fromEntries(documented)).toEqual(Object.fromEntries(defined));
  });

  it('gives every code a distinct wire number that maps back to it', () => {
    const codes = Object.keys(ERROR_CODES) as ErrorCode[];
    expect(new Set(codes.map(wireCode)).size).toBe(codes.length);
    for (const code of codes) expect(fromWireCode(wireCode(code))).toBe(code);
    expect(fromWireCode(9999)).toBe('INTERNAL');
  });

  it('maps every code to an HTTP error status', () => {
    for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
      expect(httpStatus(code)).toBeGreaterThanOrEqual(400);
      expect(httpStatus(code)).toBeLessThan(600);
    }
  });
});
