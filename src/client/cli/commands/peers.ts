/** `peershare peers`: the peers this peer knows, with state, last seen and files. */
import type { PeerInfo } from '../../ports.ts';
import type { Command } from '../command.ts';
import { duration, shortId, table } from '../format.ts';

export const peers: Command = {
  name: 'peers',
  summary: 'list known peers: state, last seen, files, address',
  usage: `Usage: peershare peers

The peer's log of available peers, kept by Fetch: id, state (alive, suspected, down), when it
was last heard of, how many files it shares, and its File Management address.`,
  async run({ api, json, out }) {
    const { peers: list } = await api.call<{ peers: PeerInfo[] }>('GET', '/peers');
    if (json) {
      out(JSON.stringify({ peers: list }) + '\n');
      return 0;
    }
    const now = Date.now();
    const rows = list.map((p) => [shortId(p.peerId), p.state, `${duration(Math.max(0, now - p.lastSeen))} ago`, `${p.files} files`, p.addresses.files]);
    out(table(rows));
    out(`${list.length} peer${list.length === 1 ? '' : 's'} known, ${list.filter((p) => p.state === 'alive').length} alive\n`);
    return 0;
  },
};
