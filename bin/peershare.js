#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=1
// The `peershare` command. Run as a program (installed with npm, or ./bin/peershare.js), the
// line above starts node with the runtime settings `npm start` uses — a 1 MiB young-generation
// semi-space and two malloc arenas — in the same process: env execs node, nothing stays behind
// to relay signals, and the settings are in place before node's first allocation, which a
// re-exec from here could only match with a second process. (`node bin/peershare.js` runs
// without them, as node was told.)
//
// The packed package has no TypeScript sources: it runs the compiled dist/. A checkout runs
// dist/ while it matches the sources (`npm run build`, which `npm ci` runs), and otherwise the
// sources themselves through tsx, so an edited checkout never runs stale code.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sourcesFingerprint } from './sources.js';

const root = new URL('..', import.meta.url);
const src = fileURLToPath(new URL('src', root));

function fail(message) {
  process.stderr.write(`peershare: ${message}\n`);
  process.exit(1);
}

function builtFrom() {
  try {
    return readFileSync(new URL('dist/.sources', root), 'utf8').trim();
  } catch {
    return undefined;
  }
}

if (!existsSync(src)) {
  if (!existsSync(new URL('dist/cli/main.js', root)))
    fail(
      'this package has no compiled dist/: pack it with `npm pack` from a clone with its dev dependencies (`npm ci`)',
    );
  await import('../dist/cli/main.js');
} else if (builtFrom() === sourcesFingerprint(src)) {
  await import('../dist/cli/main.js');
} else {
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    fail('this checkout is not built and tsx is not installed to run its sources: run `npm ci` here');
  }
  register();
  await import('../src/cli/main.ts');
}
