/**
 * The installable package. `npm pack` builds the compiled peer and the web UI into a tarball that
 * holds nothing a user does not run; `npm install -g` of it into a prefix gives a `peershare`
 * that starts a peer serving its web UI — from the compiled JavaScript, without tsx, with the
 * runtime settings of `npm start`, in the one process it started as. The systemd unit it ships
 * passes `systemd-analyze verify`. A release made from the package (`npm run release`: it with its
 * production dependencies, native modules compiled) starts a peer once unpacked, with no install.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextLoopback } from '../support/loopback.ts';
import { installGlobal, RegistryUnreachable, run, sharedRelease, shellEnv } from '../support/packed.ts';
import { spawnPeerWith } from '../support/peer-process.ts';
import { manyFilesDir, tempDir } from '../support/temp.ts';
import { Teardown } from '../support/teardown.ts';

const ROOT = join(import.meta.dirname, '../..');
const UNIT = 'deploy/systemd/peershare@.service';
const titleOf = (html: string) => /<title>(.*?)<\/title>/s.exec(html)?.[1];

/** The ids of the processes whose parent is `pid`. */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // After the command name, which is in parentheses and may hold spaces: state, then ppid.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) children.push(Number(entry));
    } catch {
      // gone since the listing
    }
  }
  return children;
}

/**
 * A shell's environment without the runtime settings, so that they can only come from the
 * command; `node` first on PATH is the one running the tests.
 */
function bareEnv(): NodeJS.ProcessEnv {
  const { MALLOC_ARENA_MAX: _arenas, NODE_OPTIONS: _options, ...env } = shellEnv();
  return { ...env, PATH: `${dirname(process.execPath)}:${env.PATH ?? ''}` };
}

function exec(command: string, args: string[]): Promise<{ code: number | string; output: string }> {
  return new Promise((resolve) => {
    execFile(command, args, (err, stdout, stderr) =>
      resolve({ code: err ? (err.code ?? 'signal') : 0, output: `${stdout}${stderr}` }),
    );
  });
}

describe('the package from npm pack, installed with npm install -g', () => {
  const teardown = new Teardown();
  let files: string[] = [];
  let prefix = '';
  let releasePrefix = '';
  let unavailable: string | undefined;

  beforeAll(async () => {
    const dir = manyFilesDir('peershare-ship-', teardown.defer);
    // The package and release made in this run (by deploy.test.ts, when it came first): only read here.
    const { tarball, files: packed, release, unreachable } = await sharedRelease();
    files = packed;
    prefix = join(dir, 'prefix');
    unavailable = unreachable;
    if (release === undefined) return;
    try {
      const installed = await installGlobal(tarball, prefix);
      // tsx runs a clone's sources; the package has none and must start without it.
      rmSync(join(installed, 'node_modules/tsx'), { recursive: true });
      releasePrefix = join(dir, 'release-prefix');
      mkdirSync(releasePrefix);
      await run('tar', ['-xzf', release, '-C', releasePrefix], dir);
    } catch (err) {
      if (!(err instanceof RegistryUnreachable)) throw err;
      unavailable = err.message;
    }
  }, 300_000);
  // Removes two installed packages with their production dependencies: thousands of files, which
  // took over 30 s in a CI run with another test file busy beside it (on the disk: where a tmpfs
  // can be mounted, they are on one).
  afterAll(() => teardown.run(), 180_000);

  it('holds the compiled peer, the built web UI and the systemd unit, and no tests, benchmarks or TypeScript', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'bin/peershare.js',
        'dist/cli/main.js',
        'web/dist/index.html',
        UNIT,
      ]),
    );
    expect(files.some((f) => f.startsWith('web/dist/assets/') && f.endsWith('.js'))).toBe(true);
    const unwanted = files.filter((f) =>
      /(^|\/)(test|tests|testing|bench|src)\/|\.test\.|(^|\/)test-[^/]*$|\.ts$|\.tsx$/.test(f),
    );
    expect(unwanted).toEqual([]);
  });

  it('starts a peer that serves its web UI, with the runtime settings of npm start, in one process', async (ctx) => {
    if (unavailable) ctx.skip(unavailable);
    const host = nextLoopback();
    const peer = await spawnPeerWith(
      [join(prefix, 'bin/peershare')],
      ['start', '--host', host, '--data', tempDir()],
      undefined,
      bareEnv(),
    );

    const page = await fetch(`http://${host}:7870/`);
    expect(page.status).toBe(200);
    expect(titleOf(await page.text())).toBe(titleOf(readFileSync(join(ROOT, 'web/index.html'), 'utf8')));

    const pid = peer.child.pid!;
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')).toContain('--max-semi-space-size=1');
    expect(readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')).toContain('MALLOC_ARENA_MAX=2');
    expect(childrenOf(pid)).toEqual([]);
  });

  it('ships a systemd unit that systemd-analyze verifies, sandboxed with a low exposure', async (ctx) => {
    if ((await exec('systemd-analyze', ['--version'])).code === 'ENOENT')
      ctx.skip('systemd-analyze is not installed (Debian package systemd)');
    if (unavailable) ctx.skip(unavailable);
    const unit = readFileSync(join(prefix, 'lib/node_modules/peershare', UNIT), 'utf8');
    for (const line of [
      'User=%i',
      'Restart=on-failure',
      'ProtectSystem=strict',
      'ProtectHome=read-only',
      'NoNewPrivileges=yes',
      'PrivateTmp=yes',
      'ExecStart=peershare start',
    ]) {
      expect(unit.split('\n')).toContain(line);
    }
    expect(unit).toMatch(/^ReadWritePaths=%S\/peershare\/%i$/m);
    // verify checks that the command exists: here it is the package installed in the prefix.
    const file = join(tempDir(), 'peershare@.service');
    writeFileSync(file, unit.replace(/^ExecStart=peershare /m, `ExecStart=${join(prefix, 'bin/peershare')} `));
    expect(await exec('systemd-analyze', ['verify', file])).toEqual({ code: 0, output: '' });
    // An exposure of at most 2.0 on systemd's scale of 10 (reported as "OK").
    const security = await exec('systemd-analyze', ['security', '--offline=yes', '--threshold=20', file]);
    expect(security.code, security.output).toBe(0);
  });

  it('as a release, unpacked into a prefix, starts a peer with its web UI: nothing to install, no registry', async (ctx) => {
    if (unavailable) ctx.skip(unavailable);
    const installed = join(releasePrefix, 'lib/node_modules/peershare');
    expect(JSON.parse(readFileSync(join(installed, 'release.json'), 'utf8'))).toMatchObject({
      platform: process.platform,
      arch: process.arch,
      modules: process.versions.modules,
    });
    const host = nextLoopback();
    await spawnPeerWith(
      [join(releasePrefix, 'bin/peershare')],
      ['start', '--host', host, '--data', tempDir()],
      undefined,
      bareEnv(),
    );
    const page = await fetch(`http://${host}:7870/`);
    expect(page.status).toBe(200);
    expect(titleOf(await page.text())).toBe(titleOf(readFileSync(join(ROOT, 'web/index.html'), 'utf8')));
  });
});
