/**
 * HTTP byte ranges as RFC 9110 §14 defines them, for serving file content. Single ranges and
 * suffix ranges are honoured; a header with several ranges is answered with the whole file (a
 * server may ignore Range), an invalid header is ignored, and a range set none of whose ranges
 * overlaps the file is unsatisfiable (416).
 */

export type RangeDecision =
  | { kind: 'full' }
  | { kind: 'partial'; start: number; end: number } // end inclusive, as in Content-Range
  | { kind: 'unsatisfiable' };

const SPEC = /^\s*(\d*)\s*-\s*(\d*)\s*$/;

/**
 * Decide how to answer a request for a representation of `size` bytes whose strong ETag is `etag`.
 * `ifRange` is the If-Range header: when it is not that ETag, the Range header is ignored.
 */
export function decideRange(
  rangeHeader: string | undefined,
  size: number,
  etag: string,
  ifRange?: string,
): RangeDecision {
  if (rangeHeader === undefined) return { kind: 'full' };
  if (ifRange !== undefined && ifRange.trim() !== etag) return { kind: 'full' };
  const eq = rangeHeader.indexOf('=');
  if (eq < 0 || rangeHeader.slice(0, eq).trim().toLowerCase() !== 'bytes') return { kind: 'full' };

  const satisfiable: Array<{ start: number; end: number }> = [];
  const specs = rangeHeader.slice(eq + 1).split(',');
  if (specs.length > 100) return { kind: 'full' };
  for (const spec of specs) {
    const m = SPEC.exec(spec);
    if (!m) return { kind: 'full' };
    const [, first = '', last = ''] = m;
    if (first === '' && last === '') return { kind: 'full' };
    if (first === '') {
      // suffix-range: the last N bytes
      const n = Number(last);
      if (!Number.isSafeInteger(n)) return { kind: 'full' };
      if (n > 0 && size > 0) satisfiable.push({ start: Math.max(0, size - n), end: size - 1 });
      continue;
    }
    const start = Number(first);
    const end = last === '' ? Infinity : Number(last);
    if (!Number.isSafeInteger(start) || (last !== '' && !Number.isSafeInteger(end))) return { kind: 'full' };
    if (end < start) return { kind: 'full' };
    if (start < size) satisfiable.push({ start, end: Math.min(end, size - 1) });
  }
  if (satisfiable.length === 0) return { kind: 'unsatisfiable' };
  if (satisfiable.length > 1) return { kind: 'full' };
  return { kind: 'partial', ...satisfiable[0]! };
}
