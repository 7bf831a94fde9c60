/**
 * How the user runs this command where they are, for the commands a message suggests: `peershare`
 * when that is on their PATH (installed, or `npm link`ed), `npm run peershare --` when they ran it
 * through npm or stand in the package's folder (a clone), else `node` and the path of the script.
 */
import { existsSync } from 'node:fs';
import { delimiter, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const NPM_SCRIPTS = new Set(['peershare', 'demo', 'start']);

export function invocation(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  if (env.npm_lifecycle_event && NPM_SCRIPTS.has(env.npm_lifecycle_event)) return 'npm run peershare --';
  if ((env.PATH ?? '').split(delimiter).some((dir) => dir !== '' && existsSync(join(dir, 'peershare'))))
    return 'peershare';
  if (resolve(cwd) === resolve(PACKAGE_ROOT)) return 'npm run peershare --';
  const script = join(PACKAGE_ROOT, 'bin', 'peershare.js');
  const near = relative(cwd, script);
  return `node ${near.length < script.length ? near : script}`;
}
