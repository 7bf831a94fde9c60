/** `peershare downloads [pause|resume|cancel KEY]`: downloads with progress, and control of one. */
import type { DownloadProgress } from '../../ports.ts';
import type { Api } from '../api.ts';
import { UsageError, type Command } from '../command.ts';
import { bytes, percent, table } from '../format.ts';

const ACTIONS = ['pause', 'resume', 'cancel'] as const;

/** A key may be shortened to any prefix that names one download, as listed. */
async function fullKey(api: Api, prefix: string): Promise<string> {
  if (/^[0-9a-f]{32}$/.test(prefix)) return prefix;
  const { downloads } = await api.call<{ downloads: DownloadProgress[] }>('GET', '/downloads?limit=1000');
  const matches = downloads.filter((d) => d.key.startsWith(prefix.toLowerCase()));
  if (matches.length !== 1) throw new UsageError(matches.length === 0 ? `no download has key ${prefix}` : `key ${prefix} names ${matches.length} downloads; give more of it`);
  return matches[0]!.key;
}

export const downloads: Command = {
  name: 'downloads',
  summary: 'list downloads with progress; pause, resume or cancel one by KEY',
  subcommands: ACTIONS,
  usage: `Usage: peershare downloads
       peershare downloads pause|resume|cancel KEY

Lists downloads, newest first: key, state, percent, size, name. KEY may be shortened to a
prefix that names one download.`,
  async run({ api, positionals, json, out }) {
    const [action, key, ...extra] = positionals;
    if (action !== undefined) {
      if (!ACTIONS.includes(action as (typeof ACTIONS)[number])) throw new UsageError(`unknown downloads subcommand "${action}"; try peershare downloads --help`);
      if (!key || extra.length > 0) throw new UsageError(`peershare downloads ${action} needs one KEY`);
      const p = await api.call<DownloadProgress>('POST', `/downloads/${await fullKey(api, key)}/${action}`);
      out(json ? JSON.stringify(p) + '\n' : `${p.key}  ${p.state}  ${p.name}\n`);
      return 0;
    }
    const list = (await api.call<{ downloads: DownloadProgress[] }>('GET', '/downloads?limit=1000')).downloads;
    if (json) {
      out(JSON.stringify({ downloads: list }) + '\n');
      return 0;
    }
    const rows = list.map((d) => [d.key, d.state, percent(d).padStart(4), d.size !== undefined ? bytes(d.size) : '?', d.error ? `${d.name}  (${d.error})` : d.name]);
    out(table(rows) + `${list.length} download${list.length === 1 ? '' : 's'}\n`);
    return 0;
  },
};
