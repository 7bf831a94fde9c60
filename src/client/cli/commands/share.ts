/**
 * `peershare share PATH...`: share files or folders in place; prints each file's id and its
 * `peershare:` link. On a terminal, a progress bar on stderr while the peer hashes; on a pipe or
 * with --json, nothing until the end.
 */
import type { WithLink } from '../../domain/client-app.ts';
import type { ShareProgress, ShareResult } from '../../ports.ts';
import type { Api } from '../api.ts';
import { UsageError, userPath, type Command } from '../command.ts';
import { bytes, hashLine, RedrawThrottle, table } from '../format.ts';

/** How often at most the hashing bar is redrawn (10 a second). */
const REDRAW_MS = 100;

/** What the Client API answers a share with: each file with its link, and a folder's collection with its own. */
type LinkedShareResult = Omit<ShareResult, 'files' | 'collection'> & {
  files: Array<WithLink<ShareResult['files'][number]>>;
  collection?: NonNullable<ShareResult['collection']> & { link?: string };
};

/** A listing's rows (table()), each followed by its file's `link:` line. */
export function withLinkLines(rows: string, links: readonly string[]): string {
  return rows
    .split('\n')
    .slice(0, links.length)
    .map((row, i) => `${row}\n  link: ${links[i]}\n`)
    .join('');
}

/** Share one path; with `bar`, draw the hashing progress on stderr (one line, redrawn). */
async function shareOne(api: Api, path: string, err: (text: string) => void, bar: boolean): Promise<LinkedShareResult> {
  // The peer resolves paths on its own file system, so relative paths are made absolute here.
  const body = { path: userPath(path) };
  if (!bar) return api.call<LinkedShareResult>('POST', '/shares', body, { timeoutMs: 0 });
  let drawn = false;
  const started = Date.now();
  const throttle = new RedrawThrottle(REDRAW_MS);
  const result = await api
    .callWithProgress<LinkedShareResult, ShareProgress>('POST', '/shares', body, (p) => {
      if (p.bytesTotal === 0) return; // nothing to hash: nothing to show
      if (!throttle.due(p.filesDone === p.filesTotal && p.bytesDone === p.bytesTotal)) return;
      err(`\r${hashLine(p, Date.now() - started)}\x1b[K`);
      drawn = true;
    })
    .finally(() => drawn && err('\n'));
  return result;
}

export const share: Command = {
  name: 'share',
  summary: 'share files or folders (in place, no copy); prints each file id',
  usage: `Usage: peershare share PATH...

Shares each file, or every file under each folder, from where it lies. Files are hashed once;
unchanged files are not hashed again; on a terminal a progress bar shows the hashing (speed,
time left; redrawn at most 10 times a second). Prints: id, size, name, and under each its
peershare: link (give it to anyone: peershare get LINK). A folder is also recorded as a collection
(its tree of files under one id, docs/PROTOCOL.md §11): its id is printed after the files.`,
  async run({ api, positionals, json, out, err }) {
    if (positionals.length === 0)
      throw new UsageError('peershare share needs at least one PATH; try peershare share --help');
    const results: LinkedShareResult[] = [];
    // A bar on a terminal, as `get --wait` draws one, and like it none with --json.
    const bar = process.stderr.isTTY === true && !json;
    for (const path of positionals) results.push(await shareOne(api, path, err, bar));
    const collections = results.flatMap((r) => (r.collection ? [r.collection] : []));
    if (json) {
      out(
        JSON.stringify({
          files: results.flatMap((r) => r.files),
          skipped: results.flatMap((r) => r.skipped),
          ...(collections.length > 0 ? { collections } : {}),
        }) + '\n',
      );
      return 0;
    }
    const files = results.flatMap((r) => r.files);
    out(
      withLinkLines(
        table(files.map((f) => [f.id, bytes(f.size).padStart(9), f.name])),
        files.map((f) => f.link),
      ),
    );
    for (const c of collections) {
      out(`folder ${c.name}: ${c.files} file${c.files === 1 ? '' : 's'}, ${bytes(c.size)}  collection ${c.id}\n`);
      if (c.link) out(`  link: ${c.link}\n`);
      for (const o of c.omitted) err(`left out of folder ${c.name}: ${o.path}: ${o.reason}\n`);
    }
    for (const s of results.flatMap((r) => r.skipped)) err(`skipped ${s.path}: ${s.reason}\n`);
    if (files.length === 0) err('nothing shared\n');
    return files.length === 0 ? 1 : 0;
  },
};
