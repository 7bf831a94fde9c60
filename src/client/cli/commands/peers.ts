/**
 * `peershare peers [forget ID]`: the peers this peer knows, with state, last seen and files, and
 * the join addresses pinned to the id each proved first; `forget` drops a pin to accept a new key.
 */
import type { JoinPinInfo, PeerInfo } from '../../ports.ts';
import { UsageError, type Command } from '../command.ts';
import { duration, shortId, table } from '../format.ts';

/** The files address a peer is dialled at, and, when its record lists several, all of them in order. */
function filesAddresses(p: PeerInfo): string {
  const all = (p.advertised ?? []).map((set) => set.files);
  return all.length > 1 ? `${p.addresses.files} (advertises ${all.join(', ')})` : p.addresses.files;
}

export const peers: Command = {
  name: 'peers',
  summary: 'list known peers and pinned join addresses; forget a pin (accept a new key)',
  subcommands: ['forget'],
  usage: `Usage: peershare peers
       peershare peers forget ID|HOST:PORT

The peer's log of available peers, kept by Fetch: id, state (alive, suspected, down; firewalled:
it proved its key but cannot be dialled, so a download asks it to connect back), when it was
last heard of, how many files it shares, and its File Management address (the one this peer
dials; a peer advertising several lists them all after it, in the order they are tried).

Then the join addresses (--join) and the peer id each proved on first contact: later contacts
must prove the same id (trust on first use). When the peer at a join address changes its key,
it is refused and listed as REFUSED with the new id. If you trust the new id, forget the pin:
peershare peers forget ID (the id pinned, or the join address); the next contact pins the id
the address proves then.`,
  async run({ api, positionals, json, out }) {
    const [action, key, ...extra] = positionals;
    if (action !== undefined) {
      if (action !== 'forget') throw new UsageError(`unknown peers subcommand "${action}"; try peershare peers --help`);
      if (!key || extra.length > 0) throw new UsageError('peershare peers forget needs one ID (or join address)');
      const { forgotten } = await api.call<{ forgotten: JoinPinInfo[] }>(
        'DELETE',
        `/join-pins/${encodeURIComponent(key)}`,
      );
      if (json) out(JSON.stringify({ forgotten }) + '\n');
      else if (forgotten.length === 0) out(`no join address is pinned to ${key}\n`);
      else
        for (const pin of forgotten)
          out(`forgot ${pin.address} → ${pin.peerId}; the next contact pins the id it proves\n`);
      return forgotten.length === 0 ? 1 : 0;
    }
    const { peers: list, joinPins = [] } = await api.call<{ peers: PeerInfo[]; joinPins?: JoinPinInfo[] }>(
      'GET',
      '/peers',
    );
    if (json) {
      out(JSON.stringify({ peers: list, joinPins }) + '\n');
      return 0;
    }
    const now = Date.now();
    const rows = list.map((p) => [
      shortId(p.peerId),
      p.state,
      `${duration(Math.max(0, now - p.lastSeen))} ago`,
      `${p.files} files`,
      filesAddresses(p),
    ]);
    out(table(rows));
    if (joinPins.length > 0) {
      out(`${rows.length > 0 ? '\n' : ''}join address pinned to (the id it proved first):\n`);
      out(table(joinPins.map((pin) => [pin.address, pin.peerId, pin.refused ? `REFUSED ${pin.refused.peerId}` : ''])));
      for (const pin of joinPins.filter((p) => p.refused)) {
        out(
          `warning: ${pin.address} now proves ${pin.refused!.peerId}, not the pinned ${pin.peerId}; if you trust it: peershare peers forget ${pin.peerId}\n`,
        );
      }
      out('\n');
    }
    out(
      `${list.length} peer${list.length === 1 ? '' : 's'} known, ${list.filter((p) => p.state === 'alive').length} alive\n`,
    );
    return 0;
  },
};
