/**
 * `peershare get ID|LINK` and `peershare get --name TERMS`: queue a download; with --wait, follow it
 * with a progress line until it is done, and exit non-zero if it fails, is cancelled, or is
 * paused on an error (a full disk), which it would not get past without the user.
 */
import type { FolderContents, NameVote, QueuedDownload, QueuedFolder } from '../../domain/client-app.ts';
import type { DownloadProgress } from '../../ports.ts';
import { looksLikeLink, parseShareLink } from '../../../shared/share-link.ts';
import type { Api } from '../api.ts';
import { MAX_WANT } from '../../../shared/defaults.ts';
import { integerFlag, secondsFlag, UsageError, userPath, type Command } from '../command.ts';
import { bytes, progressLine, table } from '../format.ts';

const FINAL = new Set(['done', 'failed', 'cancelled']);
/** Where following a download ends: a final state, or a pause that carries an error. */
const isFinal = (p: DownloadProgress) => FINAL.has(p.state) || (p.state === 'paused' && p.error !== undefined);
/** How long queueing may take beyond the search: a folder's every file is queued before the answer. */
const FOLDER_QUEUEING_MS = 120_000;
/** Progress lines written to a pipe (not a terminal) at most this often, to keep logs short. */
const PIPE_LINE_MS = 1_000;

/** Follow one download until it reaches a final state; resolves with that state's progress. */
export async function followDownload(
  api: Api,
  key: string,
  onProgress: (p: DownloadProgress) => void,
): Promise<DownloadProgress> {
  return new Promise((resolvePromise, reject) => {
    let settled = false;
    const see = (p: DownloadProgress) => {
      if (p.key !== key || settled) return;
      onProgress(p);
      if (isFinal(p)) {
        settled = true;
        stream.then(
          (s) => s.close(),
          () => undefined,
        ); // a stream that failed to open has nothing to close
        resolvePromise(p);
      }
    };
    // The snapshot covers a download that finished before this stream opened.
    const stream = api.follow('/downloads/events', ({ event, data }) => {
      if (event === 'snapshot') for (const p of data as DownloadProgress[]) see(p);
      else if (event === 'progress') see(data as DownloadProgress);
    });
    stream.then(
      (s) =>
        s.ended.then(
          () => settled || reject(new Error('the peer closed the progress stream before the download ended')),
        ),
      reject,
    );
  });
}

/**
 * A folder link's answer: its files queued into the folder's tree. With --wait, each download is
 * followed to its end in turn (one line per file), and the exit is non-zero if any did not finish.
 */
async function getFolder(
  api: Api,
  queued: QueuedFolder,
  o: { wait: boolean; json: boolean; out: (t: string) => void; err: (t: string) => void },
): Promise<number> {
  const { folder } = queued;
  const summary = `folder ${folder.name}: ${folder.files} file${folder.files === 1 ? '' : 's'}, ${bytes(folder.size)} into ${folder.root}`;
  if (!o.wait) {
    o.out(o.json ? JSON.stringify(queued) + '\n' : `queued ${summary}\n`);
    return 0;
  }
  if (!o.json) o.err(`downloading ${summary}\n`);
  const finals: DownloadProgress[] = [];
  for (const download of queued.downloads) {
    const final = await followDownload(api, download.key, () => undefined);
    finals.push(final);
    if (!o.json)
      o.err(
        `${final.state === 'done' ? 'done' : final.state}  ${final.finalPath ?? final.name}${final.error ? `  (${final.error})` : ''}\n`,
      );
  }
  const unfinished = finals.filter((f) => f.state !== 'done');
  if (o.json) o.out(JSON.stringify({ folder, downloads: finals }) + '\n');
  if (unfinished.length > 0)
    throw new Error(
      `${unfinished.length} of ${finals.length} files of folder ${folder.name} did not download: ${unfinished.map((f) => `${f.name} ${f.state}`).join(', ')}`,
    );
  if (!o.json) o.out(`${folder.root}\n`);
  return 0;
}

const holdersOf = (n: number) => `${n} holder${n === 1 ? '' : 's'}`;

/**
 * The line get by name prints when its vote was close after its search ended with its want, and it
 * asked for the wider search before picking; nothing otherwise.
 */
export function voteNote(vote: NameVote | undefined, holders: number): string {
  if (!vote?.widened) return '';
  const { first, answered, want } = vote;
  return `close vote: ${holdersOf(first.holders)} against ${first.runnerUp} once ${answered} peer${answered === 1 ? '' : 's'} answered (${want} wanted); searched again at the full TTL: ${holdersOf(holders)} against ${vote.runnerUp}\n`;
}

/** `get FOLDER --list`: the folder's files, each with its size and id, under a line naming the folder. */
export function folderListing({ folder, entries }: FolderContents): string {
  const head = `folder ${folder.name}: ${folder.files} file${folder.files === 1 ? '' : 's'}, ${bytes(folder.size)}  collection ${folder.id}\n`;
  return head + table(entries.map((e) => [e.fileId, bytes(e.size).padStart(9), e.path]));
}

export const get: Command = {
  name: 'get',
  summary: 'download a file by id, or by name (the file most peers hold)',
  usage: `Usage: peershare get ID|LINK [--out DIR] [--wait]
       peershare get FOLDER-ID|FOLDER-LINK --list
       peershare get FOLDER-ID|FOLDER-LINK --only PATH [--only PATH...] [--out DIR] [--wait]
       peershare get --name TERMS... [--timeout SECONDS] [--want N] [--out DIR] [--wait]

Queues a download and prints its key. By id, the peer finds the file's holders; by name, it
searches and picks the matching file the most peers hold, counting only holders this peer's
membership has verified and whose own file list, synced by Fetch, includes the file (a search
hit's holder is a claim anyone can forge); if Fetch has synced no holder of any match yet (a
share made moments ago), verified hit holders are counted and the output says so. The search
by name asks near peers first and widens only while fewer than --want other peers answered
(default: the peer's --get-want, 5; 0: one flood at the full TTL), and ends once that many have;
when it ended so and
the vote is close (the leader's holders exceed the runner-up's by less than the peer's
--get-vote-margin, 2), it searches again at the full TTL before picking, and says so. It asks at
most the 64 best holders (alive first, most recently heard). --out: save into DIR (default: the
peer's downloads folder). --wait: show progress until done; exit non-zero if it fails. A folder
link (share prints one for a folder), or a folder's id (search lists folders as NAME/), downloads
the folder's tree into DIR/NAME, every file verified; --wait follows each file. --list prints a
folder's files (id, size, relative path) without downloading; --only PATH downloads only the
files at or under PATH (a file or a folder in it; repeat for more).

Examples:
  peershare get 3f2a…9c --wait
  peershare get 'peershare:?folder=…' --list
  peershare get 'peershare:?folder=…' --only 'day 1/raw' --only notes.txt --wait`,
  options: {
    name: { type: 'string' },
    out: { type: 'string' },
    wait: { type: 'boolean' },
    timeout: { type: 'string' },
    want: { type: 'string' },
    list: { type: 'boolean' },
    only: { type: 'string', multiple: true },
  },
  async run({ api, values, positionals, json, out, err }) {
    const byName = values.name as string | undefined;
    if (byName === undefined && positionals.length !== 1)
      throw new UsageError('peershare get needs one file ID or LINK, or --name TERMS; try peershare get --help');
    const link = byName === undefined && looksLikeLink(positionals[0]!) ? positionals[0]!.trim() : undefined;
    if (link !== undefined) {
      const read = parseShareLink(link);
      if (!read.ok) throw new UsageError(`not a usable peershare: link: ${read.reason}`);
    } else if (byName === undefined && !/^[0-9a-f]{64}$/.test(positionals[0]!)) {
      throw new UsageError(
        `not a file id: "${positionals[0]}" (64 hex characters, as search prints, or a peershare: link)`,
      );
    }
    const only = values.only as string[] | undefined;
    if (byName !== undefined && (values.list === true || only !== undefined))
      throw new UsageError('--list and --only are for a folder given by its ID or LINK, not --name');
    const want = integerFlag('want', values.want as string | undefined, 0, MAX_WANT);
    if (byName === undefined && want !== undefined) throw new UsageError('--want is for a search by --name');
    if (values.list === true && (only !== undefined || values.out !== undefined || values.wait === true))
      throw new UsageError("--list only prints a folder's files: drop --only, --out and --wait");
    const ref: Record<string, string> = link !== undefined ? { link } : { fileId: positionals[0]! };
    if (values.list === true) {
      const contents = await api.call<FolderContents>(
        'GET',
        `/folder-contents?${new URLSearchParams(ref).toString()}`,
        undefined,
        { timeoutMs: 20_000 },
      );
      out(json ? JSON.stringify(contents) + '\n' : folderListing(contents));
      return 0;
    }
    const timeout = secondsFlag('timeout', values.timeout as string | undefined);
    const outDir = values.out === undefined ? undefined : userPath(values.out as string);
    const body =
      byName !== undefined
        ? {
            q: [byName, ...positionals].join(' '),
            ...(timeout ? { timeout } : {}),
            ...(want !== undefined ? { want } : {}),
          }
        : { ...ref, ...(only ? { only } : {}) };
    // The answer comes once every download is queued: a folder of up to 10,000 files takes a while.
    const answer = await api.call<QueuedDownload | QueuedFolder>(
      'POST',
      '/downloads',
      { ...body, ...(outDir ? { outDir } : {}) },
      { timeoutMs: (timeout ?? 10_000) + FOLDER_QUEUEING_MS },
    );
    if ('folder' in answer) return getFolder(api, answer, { wait: values.wait === true, json, out, err });
    const queued = answer;
    const { download } = queued;
    const note = voteNote(queued.vote, queued.holders);
    if (note !== '' && !json) err(note);
    if (!values.wait) {
      const holders =
        queued.basis === 'link'
          ? `${queued.holders} source${queued.holders === 1 ? '' : 's'}: ${queued.linkHints ?? 0} from the link, ${queued.holders - (queued.linkHints ?? 0)} Fetch knows`
          : `${queued.holders} holder${queued.holders === 1 ? '' : 's'}${queued.basis === 'hits' ? ' claimed by search hits, none yet confirmed by Fetch' : ''}`;
      out(
        json
          ? JSON.stringify(queued) + '\n'
          : `queued ${download.name} (${queued.size !== undefined ? bytes(queued.size) : 'size unknown'}, ${holders})  key ${download.key}\n`,
      );
      return 0;
    }
    if (!json) err(`downloading ${download.name}  key ${download.key}\n`);
    const tty = process.stderr.isTTY === true;
    let lastLine = 0;
    const final = await followDownload(api, download.key, (p) => {
      if (json) return;
      // A retry note (state queued, with the failed attempt's reason) is worth showing.
      const line = progressLine(p) + (p.error && !isFinal(p) ? `  (${p.error})` : '');
      if (tty) err(`\r${line}\x1b[K`);
      else if (isFinal(p) || Date.now() - lastLine >= PIPE_LINE_MS) {
        lastLine = Date.now();
        err(line + '\n');
      }
    });
    if (tty && !json) err('\n');
    if (json) out(JSON.stringify(final) + '\n');
    if (final.state !== 'done') throw new Error(`download ${final.state}${final.error ? `: ${final.error}` : ''}`);
    if (!json) out(`${final.finalPath ?? final.name}\n`);
    return 0;
  },
};
