/**
 * The packed package, as an operator gets it: `npm pack` on a copy of this checkout (the build
 * it runs writes nothing here) and `npm install -g` of the tarball into a prefix of its own; the
 * release made from it, once in a test run for every file that asks (sharedRelease).
 */
import { execFile } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  symlinkSync,
  watch,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
/** What `npm pack` reads: the files the package ships and what builds them. */
const PACK_INPUTS = [
  'package.json',
  'package-lock.json',
  '.gitignore',
  'README.md',
  'tsconfig.json',
  'tsconfig.build.json',
  'bin',
  'src',
  'web',
  'deploy',
];
const BUILD_OUTPUT = new Set([join(ROOT, 'web/dist'), join(ROOT, 'web/node_modules')]);
/** npm's words for a registry it could not reach, or a cache without what it needed. */
const UNREACHABLE = /ENOTCACHED|ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH/;

/** The registry could not be reached and the npm cache lacks some dependency. */
export class RegistryUnreachable extends Error {}

/** The environment of a shell: without the npm_* variables an `npm test` passes down. */
export function shellEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith('npm_')));
}

export function run(command: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, env: shellEnv(), maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err)
        reject(
          Object.assign(
            new Error(`${command} ${args.join(' ')} failed (${err.code ?? err.signal}):\n${stdout}${stderr}`),
            { output: `${stdout}${stderr}` },
          ),
        );
      else resolve(stdout);
    });
  });
}

export interface Packed {
  /** The copy of this checkout that was packed. */
  checkout: string;
  tarball: string;
  /** The files the tarball holds, without its package/ folder. */
  files: string[];
}

/** `npm pack` of a copy of this checkout, in `dir`: the tarball and the files it holds. */
export async function packCheckout(dir: string): Promise<Packed> {
  const checkout = join(dir, 'checkout');
  mkdirSync(checkout);
  for (const name of PACK_INPUTS) {
    cpSync(join(ROOT, name), join(checkout, name), { recursive: true, filter: (path) => !BUILD_OUTPUT.has(path) });
  }
  symlinkSync(realpathSync(join(ROOT, 'node_modules')), join(checkout, 'node_modules'));
  if (existsSync(join(ROOT, 'web/node_modules')))
    symlinkSync(realpathSync(join(ROOT, 'web/node_modules')), join(checkout, 'web/node_modules'));
  await run('npm', ['pack', '--pack-destination', dir], checkout);
  const [name, ...more] = readdirSync(dir).filter((f) => f.endsWith('.tgz'));
  if (name === undefined || more.length > 0)
    throw new Error(`npm pack left ${more.length + (name ? 1 : 0)} tarballs in ${dir}`);
  const tarball = join(dir, name);
  const listing = await run('tar', ['-tzf', tarball], dir);
  return {
    checkout,
    tarball,
    files: listing
      .split('\n')
      .filter(Boolean)
      .map((f) => f.replace(/^package\//, '')),
  };
}

/**
 * `npm install -g --prefix PREFIX TARBALL`; returns the installed package's folder. npm takes
 * what its cache holds and asks the registry for the rest (throws RegistryUnreachable when it
 * cannot). Install scripts do not run: the one that matters, better-sqlite3 compiling its native
 * module, takes about two minutes here, so the module this checkout's `npm ci` compiled for the
 * same version and node is put in its place (compiled again if the versions differ).
 */
export async function installGlobal(tarball: string, prefix: string): Promise<string> {
  mkdirSync(prefix, { recursive: true });
  try {
    await run(
      'npm',
      ['install', '-g', '--prefix', prefix, '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', tarball],
      prefix,
    );
  } catch (err) {
    const output = (err as { output?: string }).output ?? '';
    if (UNREACHABLE.test(output))
      throw new RegistryUnreachable(
        `npm could not fetch the package's dependencies (${UNREACHABLE.exec(output)![0]}): it needs the registry or a cache holding them`,
      );
    throw err;
  }
  const { name } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string };
  const installed = join(prefix, 'lib/node_modules', name);
  const version = (dir: string) =>
    (JSON.parse(readFileSync(join(dir, 'node_modules/better-sqlite3/package.json'), 'utf8')) as { version: string })
      .version;
  if (version(installed) === version(ROOT)) {
    const release = 'node_modules/better-sqlite3/build/Release';
    mkdirSync(join(installed, release), { recursive: true });
    copyFileSync(join(ROOT, release, 'better_sqlite3.node'), join(installed, release, 'better_sqlite3.node'));
  } else {
    await run('npm', ['rebuild', 'better-sqlite3'], installed);
  }
  return installed;
}

/** `npm run release` in the checkout `packCheckout` made, from its tarball: the release file, in `dir`. */
export async function buildRelease(packed: { checkout: string; tarball: string }, dir: string): Promise<string> {
  try {
    return (
      await run(process.execPath, ['bin/release.js', '--package', packed.tarball, '--out', dir], packed.checkout)
    ).trim();
  } catch (err) {
    const output = (err as { output?: string }).output ?? '';
    if (UNREACHABLE.test(output))
      throw new RegistryUnreachable(
        `npm could not fetch the package's dependencies (${UNREACHABLE.exec(output)![0]}): it needs the registry or a cache holding them`,
      );
    throw err;
  }
}

/** Resolves with the first of `files` (in `dir`) to exist, once one does. */
function firstOf(dir: string, files: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const watcher = watch(dir);
    const check = () => {
      const file = files.find((f) => existsSync(f));
      if (file === undefined) return;
      watcher.close();
      resolve(file);
    };
    watcher.on('change', check).on('error', (err) => {
      watcher.close();
      reject(err);
    });
    check();
  });
}

/** The package of this checkout and the release made from it, or why npm could not make that (unreachable). */
export type Made = Packed & { release?: string; unreachable?: string };

/**
 * packCheckout and buildRelease, made once in a test run for all the files that ask: the first
 * makes them in the run's folder (ship-cache.ts, vitest's globalSetup), the others wait for them
 * and read the same files (none may change them). Without the registry, the package is made and
 * the release is not: `unreachable` says why.
 */
export async function sharedRelease(): Promise<Made> {
  const cache = inject('shipCache');
  const work = join(cache, 'work');
  const made = join(cache, 'made.json');
  const failed = join(cache, 'failed.json');
  const write = (file: string, value: unknown) => {
    writeFileSync(`${file}.new`, JSON.stringify(value));
    renameSync(`${file}.new`, file);
  };
  try {
    mkdirSync(work); // only the first file gets to make them
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const file = await firstOf(cache, [made, failed]);
    if (file === failed)
      throw new Error(`the test file that made the release for this run failed: ${readFileSync(file, 'utf8')}`);
    return JSON.parse(readFileSync(file, 'utf8')) as Made;
  }
  try {
    const packed = await packCheckout(work);
    const value: Made = await buildRelease(packed, work).then(
      (release) => ({ ...packed, release }),
      (err: unknown) => {
        if (!(err instanceof RegistryUnreachable)) throw err;
        return { ...packed, unreachable: err.message };
      },
    );
    write(made, value);
    return value;
  } catch (err) {
    write(failed, (err as Error).message);
    throw err;
  }
}
