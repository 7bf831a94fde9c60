// A fingerprint of the TypeScript sources: how many there are, their total size and the newest
// modification time. `npm run build` records it next to the compiled JavaScript, and the
// `peershare` command runs that JavaScript only while the sources still match it. (An edit
// that keeps a file's size and sets an older modification time, as `cp -p` can, goes unseen:
// `npm run build` then brings dist/ up to date.)
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export function sourcesFingerprint(srcDir) {
  let count = 0;
  let bytes = 0;
  let newest = 0;
  for (const entry of readdirSync(srcDir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts') || entry.name.endsWith('.test.ts')) continue;
    const { size, mtimeMs } = statSync(join(entry.parentPath ?? entry.path, entry.name));
    count += 1;
    bytes += size;
    newest = Math.max(newest, mtimeMs);
  }
  return `${count}:${bytes}:${Math.round(newest)}`;
}
