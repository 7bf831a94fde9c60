/** The README's first command, `npm start`, starts a whole peer and stops cleanly on a signal. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { DEFAULT_PORTS } from '../../src/shared/config.ts';
import { nextLoopback } from '../support/loopback.ts';
import { tempDir } from '../support/temp.ts';

describe('npm start', () => {
  it('starts every service of a peer, prints their addresses, and stops on SIGTERM', async () => {
    const host = nextLoopback();
    const child = spawn('npm', ['start', '--silent'], {
      cwd: join(import.meta.dirname, '../..'),
      env: {
        ...process.env,
        PEERSHARE_HOST: host,
        PEERSHARE_DATA: join(tempDir(), 'data'),
        PEERSHARE_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true, // its own process group, so the signal reaches npm and the peer under it
    });
    onTestFinished(() => {
      if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    await expect.poll(() => stderr, { timeout: 30_000 }).toContain('Ctrl-C stops it');
    for (const port of Object.values(DEFAULT_PORTS).filter((p) => p !== DEFAULT_PORTS.searchPort)) {
      const res = await fetch(`http://${host}:${port}/health`);
      expect(res.status, `port ${port}`).toBe(200);
    }
    process.kill(-child.pid!, 'SIGTERM');
    await once(child, 'exit');
    await expect(fetch(`http://${host}:${DEFAULT_PORTS.filesPort}/health`)).rejects.toThrow();
  });
});
