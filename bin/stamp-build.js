// `npm run build:server`: compiles src/ into dist/ and records which sources it was compiled
// from. The fingerprint is taken before the compiler runs, so a file saved during the build
// makes the sources newer than the record and the command falls back to them. The compiler
// writes into a fresh folder that then replaces dist/, so a module whose source was deleted
// does not linger there (and ship in `npm pack`), and a failed build leaves the old one whole.
import { execFileSync } from 'node:child_process';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { sourcesFingerprint } from './sources.js';

const root = new URL('..', import.meta.url);
const dist = fileURLToPath(new URL('dist', root));
const fresh = `${dist}.building-${process.pid}`;
const old = `${dist}.old-${process.pid}`;
const fingerprint = sourcesFingerprint(fileURLToPath(new URL('src', root)));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
try {
  execFileSync(process.execPath, [tsc, '-p', fileURLToPath(new URL('tsconfig.build.json', root)), '--outDir', fresh], {
    stdio: 'inherit',
  });
  writeFileSync(`${fresh}/.sources`, `${fingerprint}\n`);
  rmSync(old, { recursive: true, force: true });
  try {
    renameSync(dist, old);
  } catch (err) {
    if (err.code !== 'ENOENT') throw err;
  }
  renameSync(fresh, dist);
} finally {
  rmSync(fresh, { recursive: true, force: true });
  rmSync(old, { recursive: true, force: true });
}
