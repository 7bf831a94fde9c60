/** Temporary folders removed when the test ends. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { perTest, type Defer } from './teardown.ts';

export function tempDir(prefix = 'peershare-test-', defer: Defer = perTest): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  defer(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
