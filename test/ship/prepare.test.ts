/**
 * `prepare` where the build tools are not installed, as `npm ci --omit=dev` leaves a clone: it
 * says what stays unbuilt and lets the install succeed, but refuses to pack a package without
 * its builds. (With them, `npm pack` in test/ship/package.test.ts runs the whole build.)
 */
import { execFile } from 'node:child_process';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { shellEnv } from '../support/packed.ts';
import { tempDir } from '../support/temp.ts';

const ROOT = join(import.meta.dirname, '../..');

/** `node bin/prepare.js` in a copy of package.json and bin/ with no node_modules, as `npm <command>` runs it. */
function prepareWithoutDevDependencies(command: string): Promise<{ code: number | null; stderr: string }> {
  const clone = tempDir();
  cpSync(join(ROOT, 'package.json'), join(clone, 'package.json'));
  cpSync(join(ROOT, 'bin'), join(clone, 'bin'), { recursive: true });
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ['bin/prepare.js'],
      { cwd: clone, env: { ...shellEnv(), npm_command: command } },
      (_err, _stdout, stderr) => resolve({ code: child.exitCode, stderr }),
    );
  });
}

describe('prepare without the dev dependencies', () => {
  it('on npm ci --omit=dev says the peer and its web UI are not built, and where to get them, and succeeds', async () => {
    const { code, stderr } = await prepareWithoutDevDependencies('ci');
    expect(code).toBe(0);
    expect(stderr).toMatch(
      /^peershare: not built: the build tools \(typescript, vite, @preact\/preset-vite\) are dev dependencies/,
    );
    expect(stderr).toContain('web UI (web/dist) are not built');
    expect(stderr).toContain('npm install -g ./peershare-VERSION.tgz');
  });

  it('on npm pack refuses to pack a package without its builds', async () => {
    const { code, stderr } = await prepareWithoutDevDependencies('pack');
    expect(code).toBe(1);
    expect(stderr).toMatch(/^peershare: cannot pack: the build tools .* are not installed/);
  });
});
