/**
 * What `npm run deploy` sends a host (bin/deploy.js, releaseAction): the release tarball only
 * where the host lacks a release of that name from the same bytes.
 *
 * The systemd unit `npm run deploy` writes for a peer on a host where systemd runs (bin/deploy.js,
 * systemdUnit): made from deploy/systemd/peershare@.service, it keeps that template's sandbox
 * line for line, runs the release in the host's prefix with its data folder as the login's
 * user, and passes `systemd-analyze verify` and the template's exposure bound, whatever
 * characters the folders hold. The deploy over SSH onto a host booted with systemd is in
 * deploy.test.ts.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../support/temp.ts';

const ROOT = join(import.meta.dirname, '../..');
const TEMPLATE = readFileSync(join(ROOT, 'deploy/systemd/peershare@.service'), 'utf8');

interface UnitOptions {
  name: string;
  user: string;
  prefix: string;
  data: string;
  downloads?: string;
  nodeDir?: string;
}
interface DeployModule {
  releaseAction: (onHost: string | undefined, sha256: string) => 'keep' | 'unpack' | 'replace';
  systemdUnit: (template: string, options: UnitOptions) => string;
  unitName: (name: string) => string;
}
// A plain-JavaScript program (it runs without a build); imported, it runs nothing.
const DEPLOY: string = join(ROOT, 'bin/deploy.js');
const { releaseAction, systemdUnit, unitName } = (await import(DEPLOY)) as DeployModule;

function exec(command: string, args: string[]): Promise<{ code: number | string; output: string }> {
  return new Promise((resolve) => {
    execFile(command, args, (err, stdout, stderr) =>
      resolve({ code: err ? (err.code ?? 'signal') : 0, output: `${stdout}${stderr}` }),
    );
  });
}

/** The template's sandbox: its [Service] lines from ProtectSystem= to the end of the section. */
const sandbox = (unit: string) => {
  const service = unit.slice(unit.indexOf('[Service]'), unit.indexOf('[Install]')).split('\n');
  return service.slice(service.findIndex((l) => l.startsWith('ProtectSystem='))).filter((l) => /^[A-Za-z]+=/.test(l));
};

/** A prefix whose current release has an executable `bin/peershare` (verify checks that ExecStart exists). */
function fakePrefix(parent: string, name: string): string {
  const prefix = join(parent, name);
  mkdirSync(join(prefix, 'current/bin'), { recursive: true });
  writeFileSync(join(prefix, 'current/bin/peershare'), '#!/bin/sh\n');
  chmodSync(join(prefix, 'current/bin/peershare'), 0o755);
  return prefix;
}

describe('the release a deploy sends', () => {
  const sha256 = 'a'.repeat(64);

  it('is not sent to a host whose release of that name was unpacked from the same bytes', () => {
    expect(releaseAction(sha256, sha256)).toBe('keep');
  });

  it('is sent to a host without a release of that name', () => {
    expect(releaseAction(undefined, sha256)).toBe('unpack');
  });

  it('replaces a release of that name from other bytes, or from bytes it cannot tell (unpacked by an older deploy)', () => {
    expect(releaseAction('b'.repeat(64), sha256)).toBe('replace');
    expect(releaseAction('', sha256)).toBe('replace');
  });
});

describe('the systemd unit of a deployed peer', () => {
  it('keeps the sandbox of the template, with the host folders writable', () => {
    const unit = systemdUnit(TEMPLATE, {
      name: 'b',
      user: 'peershare',
      prefix: '/opt/peershare',
      data: '/var/lib/peershare',
      downloads: '/srv/music',
      nodeDir: '/opt/node/bin',
    });
    const lines = unit.split('\n');
    const expected = sandbox(TEMPLATE).map((l) =>
      l.startsWith('ReadWritePaths=') ? 'ReadWritePaths="/var/lib/peershare" "/srv/music"' : l,
    );
    expect(sandbox(unit)).toEqual(expected);
    expect(unit).not.toMatch(/^Bind/m);
    for (const line of [
      'User=peershare',
      'Restart=on-failure',
      'Type=exec',
      'TimeoutStopSec=30s',
      'WantedBy=multi-user.target',
    ])
      expect(lines).toContain(line);
    expect(lines).toContain('ExecStart="/opt/peershare/current/bin/peershare" start --data "/var/lib/peershare"');
    expect(lines).toContain(
      'Environment="PATH=/opt/node/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"',
    );
    expect(lines).toContain('StandardOutput=append:/var/lib/peershare/peershare.log');
    // Nothing of the per-user template is left: no instance, no state directory, no env file.
    expect(unit).not.toMatch(/%i|StateDirectory|EnvironmentFile/);
  });

  it('binds folders in /tmp or /var/tmp into its private ones, the prefix read-only', () => {
    const unit = systemdUnit(TEMPLATE, {
      name: 'c',
      user: 'root',
      prefix: '/tmp/deploy/prefix',
      data: '/var/lib/peershare',
      downloads: '/var/tmp/dl',
    });
    const lines = unit.split('\n');
    expect(lines).toContain('PrivateTmp=yes');
    expect(lines).toContain('ReadWritePaths="/var/lib/peershare"');
    expect(lines).toContain('BindPaths="/var/tmp/dl"');
    expect(lines).toContain('BindReadOnlyPaths="/tmp/deploy/prefix"');
    const inTmp = systemdUnit(TEMPLATE, { name: 'c', user: 'root', prefix: '/tmp/p', data: '/tmp/d' }).split('\n');
    expect(inTmp.filter((l) => /^(ReadWritePaths|BindPaths|BindReadOnlyPaths)=/.test(l))).toEqual([
      'BindPaths="/tmp/d"',
      'BindReadOnlyPaths="/tmp/p"',
    ]);
    // Downloads inside the data folder need no path of their own.
    expect(
      systemdUnit(TEMPLATE, {
        name: 'd',
        user: 'root',
        prefix: '/opt/p',
        data: '/srv/d',
        downloads: '/srv/d/downloads',
      }).split('\n'),
    ).toContain('ReadWritePaths="/srv/d"');
  });

  it('is the same text for the same host, so that a second deploy finds nothing to rewrite', () => {
    const options = { name: 'a', user: 'root', prefix: '/opt/peershare', data: '/var/lib/peershare' };
    expect(systemdUnit(TEMPLATE, options)).toBe(systemdUnit(TEMPLATE, { ...options }));
  });

  it('refuses folders a unit cannot name, users it cannot run as, and template lines it does not know', () => {
    expect(() => systemdUnit(TEMPLATE, { name: 'a', user: 'root', prefix: 'opt/peershare', data: '/d' })).toThrow(
      /absolute path/,
    );
    expect(() =>
      systemdUnit(TEMPLATE, { name: 'a', user: 'root', prefix: '/opt/p', data: '/d\nExecStartPre=/bin/evil' }),
    ).toThrow(/absolute path on one line/);
    expect(() => systemdUnit(TEMPLATE, { name: 'a', user: 'x y', prefix: '/opt/p', data: '/d' })).toThrow(/user/);
    expect(() => systemdUnit(TEMPLATE, { name: 'a', user: 'root', prefix: "/opt/it's", data: '/d' })).toThrow(
      /quotes in the prefix/,
    );
    expect(() =>
      systemdUnit(`${TEMPLATE}\n[Service]\nLogsDirectory=peershare/%i\n`, {
        name: 'a',
        user: 'root',
        prefix: '/opt/p',
        data: '/d',
      }),
    ).toThrow(/does not know: LogsDirectory/);
  });

  it('names the unit after the inventory host, escaping what a unit name cannot hold', () => {
    expect(unitName('host3')).toBe('peershare-host3.service');
    expect(unitName('web-1.eu')).toBe('peershare-web-1.eu.service');
    expect(unitName('a b/ü')).toBe('peershare-a\\x20b\\x2f\\xc3\\xbc.service');
  });

  it('passes systemd-analyze verify, within the exposure the template has, with spaces, %, $ and quotes in its folders', async (ctx) => {
    if ((await exec('systemd-analyze', ['--version'])).code === 'ENOENT')
      ctx.skip('systemd-analyze is not installed (Debian package systemd)');
    const dir = tempDir('peershare-unit-');
    const prefix = fakePrefix(dir, 'pre fix 50% $HOME');
    const data = join(dir, 'da"ta %i $x');
    mkdirSync(data);
    const name = 'a b';
    const file = join(dir, unitName(name));
    writeFileSync(
      file,
      systemdUnit(TEMPLATE, {
        name,
        user: 'root',
        prefix,
        data,
        downloads: join(dir, 'down loads'),
        nodeDir: '/usr/bin',
      }),
    );
    // verify finds the command at the quoted path: a word split at a space or a mangled % or $ would miss it.
    expect(await exec('systemd-analyze', ['verify', file])).toEqual({ code: 0, output: '' });
    // An exposure of at most 2.0 on systemd's scale of 10 ("OK"), as for the template.
    const security = await exec('systemd-analyze', ['security', '--offline=yes', '--threshold=20', file]);
    expect(security.code, security.output).toBe(0);
  });
});
