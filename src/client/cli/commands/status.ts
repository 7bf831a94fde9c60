/** `peershare status`: one picture of the peer — id, addresses, links, queue, counts, uptime. */
import type { PeerStatus } from '../../domain/client-app.ts';
import type { Command } from '../command.ts';
import { describeDefences } from '../../domain/defences.ts';
import { describeJoinState } from '../../domain/join-state.ts';
import { describeReachability } from '../../domain/reachability.ts';
import { duration, shortId } from '../format.ts';

/** The services' addresses as a person reads them (search's own is the peer-links port). */
const LABELS: Record<string, string> = {
  client: 'client API',
  files: 'files API',
  search: 'peer links',
  searchApi: 'search API',
  fetch: 'fetch API',
  download: 'download API',
};

export const status: Command = {
  name: 'status',
  summary: 'peer id, join state, addresses, overlay neighbours, queue, counts, uptime, defences',
  usage: `Usage: peershare status

What the peer behind the Client API is: its id, whether it has joined the network ("joining"
while no join address has answered yet), the address of each service, whether other hosts can
reach it (and at which address), its Search overlay neighbours, its download queue, how many
files, peers and downloads it has, its uptime, and what its defences refused (records, links, queries: see docs/SECURITY.md; --json for every counter).`,
  async run({ api, json, out }) {
    const s = await api.call<PeerStatus>('GET', '/status');
    if (json) {
      out(JSON.stringify(s) + '\n');
      return 0;
    }
    const n = (v: number | null) => (v === null ? '?' : String(v));
    const downloads = s.counts.downloads
      ? Object.entries(s.counts.downloads)
          .map(([state, count]) => `${count} ${state}`)
          .join(', ') || 'none'
      : '?';
    const rows: Array<[string, string]> = [
      ['peer', s.peerId],
      ['uptime', duration(s.uptimeMs)],
      ['network', describeJoinState(s.join)],
      ...Object.entries(s.addresses).map(([name, address]): [string, string] => [LABELS[name] ?? name, address]),
      [
        'neighbours',
        s.links.length
          ? s.links.map((l) => `${shortId(l.peerId)} (${l.searchAddress}, ${l.direction})`).join('; ')
          : 'none',
      ],
      ['queue', s.queue ?? '?'],
      ['files', `${n(s.counts.sharedFiles)} shared`],
      ['peers', `${n(s.counts.knownPeers)} known, ${n(s.counts.alivePeers)} alive`],
      ['downloads', downloads],
      ['reachable', describeReachability(s.reachability)],
      ['defences', describeDefences(s.defences)],
      ...(s.unavailable.length
        ? [['unavailable', `${s.unavailable.join(', ')} (not answering)`] as [string, string]]
        : []),
    ];
    // Every value starts in one column, one space past the longest label.
    const width = Math.max(...rows.map(([label]) => label.length));
    const lines = rows.map(([label, value]) => `${label.padEnd(width)} ${value}`);
    out(lines.join('\n') + '\n');
    return 0;
  },
};
