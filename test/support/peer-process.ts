/**
 * A real `peershare` process (start or service NAME), as a user runs it: resolves once it has
 * printed that it is up, and is killed when the test ends if it is still running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { expect, onTestFinished } from 'vitest';
import { BIN } from './run-command.ts';

export interface PeerProcess {
  child: ChildProcess;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
}

export async function spawnPeer(args: string[]): Promise<PeerProcess> {
  const child = spawn(process.execPath, [BIN, ...args, '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  await expect.poll(() => stderr, { timeout: 20_000 }).toContain('Ctrl-C stops it');
  return { child, stderr: () => stderr };
}
