/**
 * A real `peershare` process (start or service NAME), as a user runs it: resolves once it has
 * printed that it is up (rejects, with what it printed, if it exits first), and is killed when
 * the test ends if it is still running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { BIN } from './run-command.ts';
import { perTest, type Defer } from './teardown.ts';

export interface PeerProcess {
  child: ChildProcess;
  /** Everything it wrote to stderr so far. */
  readonly stderr: () => string;
}

const UP = 'Ctrl-C stops it';
// A deadline to fail by, not an expectation: on a busy machine (CI under stress-ng beside other work)
// a peer on a test host once took longer than 30 s to print that it is up.
const START_TIMEOUT_MS = 60_000;

/**
 * `prefix`: a command the peer runs under, such as ['ip', 'netns', 'exec', NS] to run it on a
 * test host (test/support/testbed.ts); it must exec the peer, so that killing the child kills it.
 */
export function spawnPeer(
  args: string[],
  defer: Defer = perTest,
  prefix: readonly string[] = [],
): Promise<PeerProcess> {
  return spawnPeerWith([...prefix, process.execPath, BIN], args, defer);
}

/**
 * The same with another `peershare` command line, such as the bin of an installed package;
 * `env` replaces the inherited environment.
 */
export async function spawnPeerWith(
  command: readonly string[],
  args: string[],
  defer: Defer = perTest,
  env?: NodeJS.ProcessEnv,
): Promise<PeerProcess> {
  const [program, ...before] = command;
  const child = spawn(program!, [...before, ...args, '--log-level', 'warn'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    ...(env ? { env } : {}),
  });
  const exited = once(child, 'exit').catch(() => undefined);
  defer(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited; // gone, with every socket and connection it held, before the next step
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => fail(`is not up after ${START_TIMEOUT_MS} ms`), START_TIMEOUT_MS);
    const fail = (why: string) => {
      clearTimeout(timer);
      reject(new Error(`peershare ${args.join(' ')} ${why}; it printed:\n${stderr}`));
    };
    child.stderr.on('data', () => {
      if (!stderr.includes(UP)) return;
      clearTimeout(timer);
      resolve();
    });
    child.once('exit', (code, signal) => fail(`exited (${signal ?? code}) before it was up`));
    child.once('error', (err) => fail(`could not start: ${err.message}`));
  });
  return { child, stderr: () => stderr };
}
