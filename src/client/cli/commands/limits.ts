/**
 * `peershare limits [--download RATE] [--upload RATE]`: the bandwidth caps in force, and changing
 * them while the peer runs (kept in its config file for the next start).
 */
import type { Limits } from '../../ports.ts';
import { parseRate } from '../../../shared/sizes.ts';
import { UsageError, type Command } from '../command.ts';
import { bytes, table } from '../format.ts';

/** A rate as typed: a size per second (10MiB, 512KiB, 1048576), or 0 / none / off for no cap. */
function rateOf(flag: string, raw: string): number {
  const n = parseRate(raw);
  if (n === undefined) throw new UsageError(`--${flag} takes a rate such as 10MiB, 512KiB or 0 (no cap), not "${raw}"`);
  return n;
}

const describe = (n: number) => (n === 0 ? 'no cap' : `${bytes(n)}/s`);

export const limits: Command = {
  name: 'limits',
  summary: 'show or change the download and upload bandwidth caps while the peer runs',
  options: { download: { type: 'string', short: 'd' }, upload: { type: 'string', short: 'u' } },
  usage: `Usage: peershare limits [--download RATE] [--upload RATE]

Without flags: the bandwidth caps in force, for all downloads together and for all file
content sent to other peers together. With flags: change them at once, running transfers
included, and keep them in the peer's config file for its next start (a --max-download-rate
or --max-upload-rate flag given at that start still wins).

  -d, --download RATE  cap on all downloads, e.g. 10MiB (per second); 0 or none: no cap
  -u, --upload RATE    cap on content sent to other peers, e.g. 2MiB; 0 or none: no cap

Examples:
  peershare limits --download 5MiB --upload 1MiB
  peershare limits --upload none`,
  async run({ api, values, positionals, json, out }) {
    if (positionals.length > 0)
      throw new UsageError(
        `peershare limits takes no words, got "${positionals.join(' ')}"; try peershare limits --help`,
      );
    const change: Partial<Limits> = {};
    if (typeof values.download === 'string') change.maxDownloadRate = rateOf('download', values.download);
    if (typeof values.upload === 'string') change.maxUploadRate = rateOf('upload', values.upload);
    const changing = Object.keys(change).length > 0;
    const now = changing
      ? await api.call<Limits & { keptIn?: string }>('PUT', '/limits', change)
      : await api.call<Limits & { keptIn?: string }>('GET', '/limits');
    if (json) {
      out(JSON.stringify(now) + '\n');
      return 0;
    }
    out(
      table([
        ['download', describe(now.maxDownloadRate)],
        ['upload', describe(now.maxUploadRate)],
      ]),
    );
    if (changing && now.keptIn) out(`in force now, and kept in ${now.keptIn}\n`);
    return 0;
  },
};
