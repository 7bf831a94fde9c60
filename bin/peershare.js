#!/usr/bin/env node
// The `peershare` command. It runs the JavaScript that `npm ci` compiled into dist/ (`npm run
// build`) while that build matches the TypeScript sources, and otherwise the sources themselves
// through tsx, so an edited checkout never runs stale code.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sourcesFingerprint } from './sources.js';

const root = new URL('..', import.meta.url);
let built;
try {
  built = readFileSync(new URL('dist/.sources', root), 'utf8').trim();
} catch {
  built = undefined;
}
if (built !== undefined && built === sourcesFingerprint(fileURLToPath(new URL('src', root)))) {
  await import('../dist/client/cli/main.js');
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/client/cli/main.ts');
}
