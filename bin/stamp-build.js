// `npm run build:server`: compiles src/ into dist/ and records which sources it was compiled
// from. The fingerprint is taken before the compiler runs, so a file saved during the build
// makes the sources newer than the record and the command falls back to them.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { sourcesFingerprint } from './sources.js';

const root = new URL('..', import.meta.url);
const fingerprint = sourcesFingerprint(fileURLToPath(new URL('src', root)));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', fileURLToPath(new URL('tsconfig.build.json', root))], { stdio: 'inherit' });
writeFileSync(new URL('dist/.sources', root), `${fingerprint}\n`);
