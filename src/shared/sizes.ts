/**
 * Sizes and rates as people type them: 1048576, 512KiB, 1MiB, 2GiB (k, m, g, t are the same
 * binary units). No Node APIs: the settings, the CLI and the web UI read them alike.
 */

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 2 ** 10,
  kib: 2 ** 10,
  m: 2 ** 20,
  mib: 2 ** 20,
  g: 2 ** 30,
  gib: 2 ** 30,
  t: 2 ** 40,
  tib: 2 ** 40,
};

/** The byte count `text` names; undefined when it names none (or more than a safe integer). */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+)\s*(|b|kib|k|mib|m|gib|g|tib|t)$/i.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]) * UNITS[(m[2] ?? '').toLowerCase()]!;
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * A bandwidth cap as typed: a size per second (10MiB, 10MiB/s, 512KiB, 1048576), or 0, none, off
 * or an empty field for no cap (0). Undefined when it is neither.
 */
export function parseRate(text: string): number | undefined {
  const t = text.trim();
  if (t === '' || /^(none|off|unlimited|no cap)$/i.test(t)) return 0;
  return parseSize(t.replace(/\s*\/\s*s$/i, ''));
}

/** A byte count as parseSize reads it back exactly: the largest binary unit that divides it (5MiB, 1536KiB, 1000). */
export function formatSize(n: number): string {
  for (const [unit, size] of [
    ['TiB', 2 ** 40],
    ['GiB', 2 ** 30],
    ['MiB', 2 ** 20],
    ['KiB', 2 ** 10],
  ] as const) {
    if (n >= size && n % size === 0) return `${n / size}${unit}`;
  }
  return String(n);
}
