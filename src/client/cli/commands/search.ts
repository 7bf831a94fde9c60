/** `peershare search TERMS... [--timeout S]`: hits as they arrive, then the search summary. */
import type { SearchHit, SearchSummary } from '../../ports.ts';
import { secondsFlag, UsageError, type Command } from '../command.ts';
import { bytes, shortId } from '../format.ts';

const hitLine = (h: SearchHit) => `${h.name}  ${bytes(h.size)}  ${h.fileId}  ${shortId(h.holderPeerId)}  ${h.hops} hop${h.hops === 1 ? '' : 's'}\n`;

export function summaryLine(s: SearchSummary): string {
  return `${s.hits} hit${s.hits === 1 ? '' : 's'} from ${s.peersAnswered} peer${s.peersAnswered === 1 ? '' : 's'} in ${(s.elapsedMs / 1000).toFixed(1)}s (${s.duplicatesDropped} duplicates dropped, ended: ${s.ended})\n`;
}

export const search: Command = {
  name: 'search',
  summary: 'search the network; prints hits as they arrive',
  usage: `Usage: peershare search TERMS... [--timeout SECONDS]

Every term must prefix a word of a file name. Prints each hit as it arrives — name, size, id,
holder, hops — then a summary. --timeout: how long to wait for hits (default: the peer's).`,
  options: { timeout: { type: 'string' } },
  async run({ api, values, positionals, json, out }) {
    if (positionals.length === 0) throw new UsageError('peershare search needs TERMS; try peershare search --help');
    const timeout = secondsFlag('timeout', values.timeout as string | undefined);
    const query = `q=${encodeURIComponent(positionals.join(' '))}${timeout ? `&timeout=${timeout}` : ''}`;
    if (json) {
      out(JSON.stringify(await api.call('GET', `/search?${query}&wait=1`, undefined, { timeoutMs: (timeout ?? 60_000) + 10_000 })) + '\n');
      return 0;
    }
    let summary: SearchSummary | undefined;
    let failure: string | undefined;
    const stream = await api.follow(`/search?${query}`, ({ event, data }) => {
      if (event === 'hit') out(hitLine(data as SearchHit));
      else if (event === 'summary') summary = data as SearchSummary;
      else if (event === 'error') failure = (data as { message: string }).message;
    });
    await stream.ended;
    if (!summary) throw new Error(failure ?? 'the peer ended the search without a summary');
    out(summaryLine(summary));
    return 0;
  },
};
