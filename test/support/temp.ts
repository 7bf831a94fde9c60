/** Temporary folders removed when the test ends. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { perTest, type Defer } from './teardown.ts';

export function tempDir(prefix = 'peershare-test-', defer: Defer = perTest): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  defer(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A temporary folder for many files (a package installed or unpacked is 8,000), on a tmpfs of
 * its own where this process may mount one (root, allowed to), else on the disk as tempDir. Removing an
 * unpacked release from this machine's disk once it was written back took up to 30 s (ext4
 * mounted with discard): the deploy test's eight took over two minutes. A tmpfs goes at once.
 */
export function manyFilesDir(prefix = 'peershare-test-', defer: Defer = perTest): string {
  if (process.getuid?.() !== 0) return tempDir(prefix, defer);
  const dir = mkdtempSync(join(tmpdir(), prefix));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'mode=700', 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    defer(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  }
  defer(() => {
    // Lazily: a process of the test still in it lets go of it when it ends.
    execFileSync('umount', ['-l', dir]);
    rmdirSync(dir);
  });
  return dir;
}
