/** `peershare files [unshare ID]`: the files this peer shares, or stop sharing one. */
import type { WithLink } from '../../domain/client-app.ts';
import type { SharedFile, SharedFolder } from '../../ports.ts';
import { UsageError, type Command } from '../command.ts';
import { bytes, table } from '../format.ts';
import { withLinkLines } from './share.ts';

export const files: Command = {
  name: 'files',
  summary: 'list the files this peer shares; files unshare ID stops sharing one',
  usage: `Usage: peershare files [--limit N]
       peershare files unshare ID

Lists shared files, newest first: id, size, name (and every other name it is shared under), how
much of it this peer has sent to other peers (all time), and under each its peershare: link;
then the shared folders, each with its folder link (peershare get LINK fetches the whole tree).`,
  options: { limit: { type: 'string' } },
  subcommands: ['unshare'],
  async run({ api, values, positionals, json, out }) {
    const [sub, id, ...extra] = positionals;
    if (sub === 'unshare') {
      if (!id || extra.length > 0) throw new UsageError('peershare files unshare needs one file ID');
      await api.call('DELETE', `/files/${encodeURIComponent(id)}`);
      out(json ? JSON.stringify({ unshared: id }) + '\n' : `unshared ${id}\n`);
      return 0;
    }
    if (sub !== undefined) throw new UsageError(`unknown files subcommand "${sub}"; try peershare files --help`);
    const limit = Number(values.limit ?? 1000);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
      throw new UsageError('--limit: expected an integer from 1 to 1000');
    const list = await api.call<{ items: Array<WithLink<SharedFile>>; total: number }>('GET', `/files?limit=${limit}`);
    if (json) {
      const folders = await api.call<{ items: Array<WithLink<SharedFolder>>; total: number }>(
        'GET',
        `/folders?limit=${limit}`,
      );
      out(JSON.stringify({ ...list, folders: folders.items }) + '\n');
      return 0;
    }
    const sent = (f: SharedFile) => (f.uploaded ? `  (sent ${bytes(f.uploaded)} to peers)` : '');
    const rows = table(
      list.items.map((f) => [
        f.id,
        bytes(f.size).padStart(9),
        [f.name, ...f.names.filter((n) => n !== f.name)].join(', ') + sent(f),
      ]),
    );
    out(
      withLinkLines(
        rows,
        list.items.map((f) => f.link),
      ),
    );
    out(`${list.total} file${list.total === 1 ? '' : 's'} shared\n`);
    const folders = await api.call<{ items: Array<WithLink<SharedFolder>>; total: number }>(
      'GET',
      `/folders?limit=${limit}`,
    );
    if (folders.total > 0) {
      out('\nfolders (get the whole tree with its link):\n');
      out(
        withLinkLines(
          table(
            folders.items.map((f) => [
              f.id,
              bytes(f.size).padStart(9),
              `${f.name}/  ${f.files} file${f.files === 1 ? '' : 's'}${f.complete ? '' : ', some no longer shared here'}`,
            ]),
          ),
          folders.items.map((f) => f.link),
        ),
      );
    }
    return 0;
  },
};
