/**
 * `peershare search TERMS... [--timeout S] [--want N]`: the hits grouped by file — name, size, how many
 * peers hold it, the fewest hops to one, its id — laid out for the terminal's width, then the
 * search summary. On a terminal a counter on stderr shows hits arriving until the search ends.
 */
import type { SearchHit, SearchSummary } from '../../ports.ts';
import { integerFlag, secondsFlag, terminalWidth, UsageError, type Command } from '../command.ts';
import { bytes } from '../format.ts';
import { MAX_WANT } from '../../../shared/defaults.ts';

export interface FoundFile {
  /** The file id, or a shared folder's collection id. */
  fileId: string;
  name: string;
  size: number;
  holders: number;
  bestHops: number;
  /** Present for a shared folder: how many files it holds. */
  folder?: { files: number };
}

/** One entry per file (id and size together; the first name seen), most held first, then nearest, then by name. */
export function groupHits(hits: readonly SearchHit[]): FoundFile[] {
  const files = new Map<string, { file: FoundFile; holders: Set<string> }>();
  for (const h of hits) {
    const key = `${h.fileId}:${h.size}`;
    const entry = files.get(key) ?? {
      file: {
        fileId: h.fileId,
        name: h.name,
        size: h.size,
        holders: 0,
        bestHops: h.hops,
        ...(h.folder ? { folder: { files: h.folder.files } } : {}),
      },
      holders: new Set<string>(),
    };
    entry.holders.add(h.holderPeerId);
    entry.file.holders = entry.holders.size;
    entry.file.bestHops = Math.min(entry.file.bestHops, h.hops);
    files.set(key, entry);
  }
  return [...files.values()]
    .map((e) => e.file)
    .sort((a, b) => b.holders - a.holders || a.bestHops - b.bestHops || a.name.localeCompare(b.name));
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
/** A name cut to `width` characters, its end replaced by an ellipsis. */
const fit = (text: string, width: number) =>
  text.length <= width ? text.padEnd(width) : `${text.slice(0, Math.max(0, width - 1))}…`;

/**
 * The files as aligned columns within `width`: name, size, holders, hops and id on one line when
 * the id fits beside a name of 24 characters, else the id on a line of its own under each file.
 */
export function fileTable(files: readonly FoundFile[], width: number): string {
  if (files.length === 0) return '';
  const cells = files.map((f) => [bytes(f.size), plural(f.holders, 'holder'), plural(f.bestHops, 'hop')]);
  const widths = [0, 1, 2].map((i) => Math.max(...cells.map((c) => c[i]!.length)));
  const stats = (c: string[]) =>
    `${c[0]!.padStart(widths[0]!)}  ${c[1]!.padEnd(widths[1]!)}  ${c[2]!.padEnd(widths[2]!)}`;
  const statsWidth = widths[0]! + widths[1]! + widths[2]! + 4;
  const names = files.map((f) => (f.folder ? `${f.name}/ (${plural(f.folder.files, 'file')})` : f.name));
  const longestName = Math.max(...names.map((n) => n.length));
  const oneLine = 24 + 2 + statsWidth + 2 + 64 <= width;
  const nameWidth = Math.max(8, Math.min(longestName, width - statsWidth - 2 - (oneLine ? 66 : 0)));
  return files
    .map((f, i) =>
      oneLine
        ? `${fit(names[i]!, nameWidth)}  ${stats(cells[i]!)}  ${f.fileId}\n`
        : `${fit(names[i]!, nameWidth)}  ${stats(cells[i]!)}`.trimEnd() + `\n  id ${f.fileId}\n`,
    )
    .join('');
}

export function summaryLine(s: SearchSummary, files: number, folders = 0): string {
  return `${plural(files, 'file')}${folders > 0 ? ` and ${plural(folders, 'folder')}` : ''}: ${plural(s.hits, 'hit')} from ${plural(s.peersAnswered, 'peer')} in ${(s.elapsedMs / 1000).toFixed(1)}s (${s.duplicatesDropped} duplicates dropped, ended: ${s.ended})\n`;
}

export const search: Command = {
  name: 'search',
  summary: 'search the network; prints the files found, grouped, with holders and hops',
  usage: `Usage: peershare search TERMS... [--timeout SECONDS] [--want N]

Every term must prefix a word of a file or shared folder's name. Waits for the hits (a counter
on a terminal), then prints each file found once — name, size, how many peers hold it, the
fewest hops to one of them, and its id (for peershare get ID) — most held first, then a
summary. A shared folder is listed as NAME/ (N files): get ID downloads its whole tree.
--timeout: how long to wait for hits (default: the peer's). --want: ask near peers first and
widen (TTL 2, then 4, then the full TTL, a step a second, faster under a short timeout) only
while fewer than N other peers answered; the search ends as soon as N have (ended: enough).
--json: every hit, and the summary.

Examples:
  peershare search lisbon tram --timeout 5
  peershare search lisbon tram --want 10`,
  options: { timeout: { type: 'string' }, want: { type: 'string' } },
  async run({ api, values, positionals, json, out, err }) {
    if (positionals.length === 0) throw new UsageError('peershare search needs TERMS; try peershare search --help');
    const timeout = secondsFlag('timeout', values.timeout as string | undefined);
    const want = integerFlag('want', values.want as string | undefined, 1, MAX_WANT);
    const query =
      `q=${encodeURIComponent(positionals.join(' '))}` +
      `${timeout ? `&timeout=${timeout}` : ''}${want !== undefined ? `&want=${want}` : ''}`;
    if (json) {
      out(
        JSON.stringify(
          await api.call('GET', `/search?${query}&wait=1`, undefined, { timeoutMs: (timeout ?? 60_000) + 10_000 }),
        ) + '\n',
      );
      return 0;
    }
    const hits: SearchHit[] = [];
    const holders = new Set<string>();
    const counter = process.stderr.isTTY === true;
    let summary: SearchSummary | undefined;
    let failure: string | undefined;
    const stream = await api.follow(`/search?${query}`, ({ event, data }) => {
      if (event === 'hit') {
        hits.push(data as SearchHit);
        holders.add((data as SearchHit).holderPeerId);
        if (counter) err(`\rsearching: ${plural(hits.length, 'hit')} from ${plural(holders.size, 'peer')}\x1b[K`);
      } else if (event === 'summary') summary = data as SearchSummary;
      else if (event === 'error') failure = (data as { message: string }).message;
    });
    await stream.ended;
    if (counter && hits.length > 0) err('\r\x1b[K');
    if (!summary) throw new Error(failure ?? 'the peer ended the search without a summary');
    const files = groupHits(hits);
    const folders = files.filter((f) => f.folder !== undefined).length;
    out(fileTable(files, terminalWidth()) + summaryLine(summary, files.length - folders, folders));
    return 0;
  },
};
