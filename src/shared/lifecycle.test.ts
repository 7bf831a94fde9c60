import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FATAL_EXIT_CODE } from './lifecycle.ts';

const LIFECYCLE = fileURLToPath(new URL('./lifecycle.ts', import.meta.url));

/** Run a small program that installs the last-resort policy, then lets `escape` reach the top. */
function escaping(escape: string): { status: number | null; stderr: string } {
  const program = `
    const { exitOnEscapedError } = await import(${JSON.stringify(LIFECYCLE)});
    exitOnEscapedError({ fatal: () => undefined });
    setInterval(() => undefined, 60_000); // work that would keep a healthy process running
    ${escape};`;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', program], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: run.status, stderr: run.stderr };
}

describe('an error that escapes to the process', () => {
  it.each([
    ['an unhandled rejection', "Promise.reject(new Error('lost rejection'))", 'lost rejection'],
    ['a throw in a timer', "setTimeout(() => { throw new Error('thrown in a timer'); }, 1)", 'thrown in a timer'],
  ])('after %s, says it is a bug on stderr and exits with EX_SOFTWARE', (_label, escape, what) => {
    const { status, stderr } = escaping(escape);
    expect(status).toBe(FATAL_EXIT_CODE);
    expect(stderr).toContain('an error escaped');
    expect(stderr).toContain(what);
  });
});
