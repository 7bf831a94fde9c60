/**
 * The command line itself, through the real command and without a peer: --version, shell
 * completion, help, and what the commands say when no peer answers.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runCommand } from '../support/run-command.ts';

const PACKAGE_VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

describe('peershare command line', () => {
  it('--version and -V print the package version and which code runs', async () => {
    const [long, short] = await Promise.all([runCommand(['--version']), runCommand(['-V'])]);
    for (const r of [long, short]) {
      expect(r).toMatchObject({ code: 0, stderr: '' });
      expect(r.stdout).toMatch(new RegExp(`^peershare ${PACKAGE_VERSION.replace(/\./g, '\\.')} \\((from the TypeScript sources|built [0-9-]+ [0-9:]+ UTC)\\)\\n$`));
    }
  });
});
