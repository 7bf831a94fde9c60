/** `peershare downloads [pause|resume|cancel KEY]`: downloads with progress, and control of one. */
import type { DownloadProgress } from '../../ports.ts';
import type { Api } from '../api.ts';
import { UsageError, type Command } from '../command.ts';
import { bytes, duration, percent, sourceLines, table } from '../format.ts';
import { invocation } from '../invocation.ts';

const ACTIONS = ['pause', 'resume', 'cancel'] as const;

/** A key may be shortened to any prefix that names one download, as listed. */
async function fullKey(api: Api, prefix: string): Promise<string> {
  if (/^[0-9a-f]{32}$/.test(prefix)) return prefix;
  const { downloads } = await api.call<{ downloads: DownloadProgress[] }>('GET', '/downloads?limit=1000');
  const matches = downloads.filter((d) => d.key.startsWith(prefix.toLowerCase()));
  if (matches.length !== 1)
    throw new UsageError(
      matches.length === 0
        ? `no download has key ${prefix}`
        : `key ${prefix} names ${matches.length} downloads; give more of it`,
    );
  return matches[0]!.key;
}

function cannotResume(p: DownloadProgress): string {
  return p.state === 'done'
    ? `download ${p.key} is done (${p.finalPath ?? p.name}): nothing to resume`
    : `download ${p.key} was cancelled and its partial file deleted: nothing to resume; download it again with: ${invocation()} get ${p.fileId}`;
}

/** Speed, time left and the sources in use, e.g. `1.2 MiB/s  ETA 3m02s  3 sources`. */
export function transferLine(d: Pick<DownloadProgress, 'rate' | 'etaSeconds' | 'sources'>): string {
  const eta = d.etaSeconds !== undefined ? `ETA ${duration(d.etaSeconds * 1000)}` : 'ETA ?';
  return [`${bytes(Math.round(d.rate))}/s`, eta, `${d.sources.length} source${d.sources.length === 1 ? '' : 's'}`].join(
    '  ',
  );
}

export const downloads: Command = {
  name: 'downloads',
  summary: 'list downloads with progress; pause, resume or cancel one by KEY; clear ended ones',
  subcommands: [...ACTIONS, 'clear'],
  usage: `Usage: peershare downloads
       peershare downloads pause|resume|cancel KEY
       peershare downloads clear

Lists downloads, newest first: key, state, percent, size, name, and under a running one its
speed, time left and how many sources are sending. KEY may be shortened to a prefix that names
one download. Resuming a cancelled download is an error: its partial file is gone, get it again.
clear forgets every finished, failed or cancelled download (the saved files stay).

Examples:
  peershare downloads pause 3f9a        (a prefix of the key is enough)
  peershare downloads clear`,
  async run({ api, positionals, json, out }) {
    const [action, key, ...extra] = positionals;
    if (action === 'clear') {
      if (key !== undefined)
        throw new UsageError(
          'peershare downloads clear takes no KEY: it forgets every finished, failed or cancelled download',
        );
      const { cleared } = await api.call<{ cleared: string[] }>('DELETE', '/downloads');
      out(
        json
          ? JSON.stringify({ cleared }) + '\n'
          : `cleared ${cleared.length} finished, failed or cancelled download${cleared.length === 1 ? '' : 's'} from the list (saved files stay)\n`,
      );
      return 0;
    }
    if (action !== undefined) {
      if (!ACTIONS.includes(action as (typeof ACTIONS)[number]))
        throw new UsageError(`unknown downloads subcommand "${action}"; try peershare downloads --help`);
      if (!key || extra.length > 0) throw new UsageError(`peershare downloads ${action} needs one KEY`);
      const p = await api.call<DownloadProgress>('POST', `/downloads/${await fullKey(api, key)}/${action}`);
      // The peer answers an action it cannot take with the download as it is: say why, not nothing.
      if (action === 'resume' && (p.state === 'cancelled' || p.state === 'done')) throw new Error(cannotResume(p));
      out(json ? JSON.stringify(p) + '\n' : `${p.key}  ${p.state}  ${p.name}\n`);
      return 0;
    }
    const list = (await api.call<{ downloads: DownloadProgress[] }>('GET', '/downloads?limit=1000')).downloads;
    if (json) {
      out(JSON.stringify({ downloads: list }) + '\n');
      return 0;
    }
    const note = (d: DownloadProgress) =>
      d.gone ? `  (no longer at ${d.finalPath}: get it again to download it anew)` : d.error ? `  (${d.error})` : '';
    const rows = list.map((d) => [
      d.key,
      d.gone ? 'gone' : d.state,
      percent(d).padStart(4),
      d.size !== undefined ? bytes(d.size) : '?',
      `${d.name}${note(d)}`,
    ]);
    // A running download's speed, time left and sources on the line under it, indented past its
    // key, then each source with what it sent.
    const lines = table(rows).split('\n');
    const indent = (d: DownloadProgress, more = 0) => ' '.repeat(d.key.length + 2 + more);
    const withDetail = list.flatMap((d, i) =>
      d.state === 'running'
        ? [lines[i]!, `${indent(d)}${transferLine(d)}`, ...sourceLines(d).map((line) => `${indent(d, 2)}${line}`)]
        : [lines[i]!],
    );
    out(withDetail.join('\n') + (list.length ? '\n' : '') + `${list.length} download${list.length === 1 ? '' : 's'}\n`);
    return 0;
  },
};
