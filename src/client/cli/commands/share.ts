/** `peershare share PATH...`: share files or folders in place; prints each file's id. */
import type { ShareResult } from '../../ports.ts';
import { UsageError, userPath, type Command } from '../command.ts';
import { bytes, table } from '../format.ts';

export const share: Command = {
  name: 'share',
  summary: 'share files or folders (in place, no copy); prints each file id',
  usage: `Usage: peershare share PATH...

Shares each file, or every file under each folder, from where it lies. Files are hashed once;
unchanged files are not hashed again. Prints: id, size, name.`,
  async run({ api, positionals, json, out, err }) {
    if (positionals.length === 0) throw new UsageError('peershare share needs at least one PATH; try peershare share --help');
    const results: ShareResult[] = [];
    for (const path of positionals) {
      // The peer resolves paths on its own file system, so relative paths are made absolute here.
      results.push(await api.call<ShareResult>('POST', '/shares', { path: userPath(path) }, { timeoutMs: 0 }));
    }
    if (json) {
      out(JSON.stringify({ files: results.flatMap((r) => r.files), skipped: results.flatMap((r) => r.skipped) }) + '\n');
      return 0;
    }
    const files = results.flatMap((r) => r.files);
    out(table(files.map((f) => [f.id, bytes(f.size).padStart(9), f.name])));
    for (const s of results.flatMap((r) => r.skipped)) err(`skipped ${s.path}: ${s.reason}\n`);
    if (files.length === 0) err('nothing shared\n');
    return files.length === 0 ? 1 : 0;
  },
};
