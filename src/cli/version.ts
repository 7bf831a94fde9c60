/**
 * `peershare --version`: the package's version, and which code answers: the compiled build (with
 * when `npm run build` stamped it, bin/stamp-build.js) or the TypeScript sources, which the
 * command runs whenever they changed after that build (bin/peershare.js).
 */
import { readFileSync, statSync } from 'node:fs';

// The same depth under src/ and dist/, so both resolve to the package's own files.
const PACKAGE_JSON = new URL('../../package.json', import.meta.url);
const BUILD_STAMP = new URL('../../dist/.sources', import.meta.url);

export function versionLine(): string {
  const { version } = JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as { version: string };
  return `peershare ${version} (${whichCode()})\n`;
}

function whichCode(): string {
  if (!import.meta.url.endsWith('.js')) return 'from the TypeScript sources';
  try {
    return `built ${statSync(BUILD_STAMP).mtime.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  } catch {
    return 'built';
  }
}
