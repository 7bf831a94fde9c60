// Run after `tsc -p tsconfig.build.json`: records which sources dist/ was compiled from.
import { writeFileSync } from 'node:fs';
import { sourcesFingerprint } from './sources.js';

const root = new URL('..', import.meta.url);
writeFileSync(new URL('dist/.sources', root), `${sourcesFingerprint(new URL('src', root).pathname)}\n`);
