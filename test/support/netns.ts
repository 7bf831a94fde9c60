/**
 * A second host for tests: a Linux network namespace joined to this one by a veth pair, with an
 * address on each end (10.213.N.1 here, 10.213.N.2 there). Root only; removed when the test ends.
 * Commands run inside it with `exec` (ip netns exec), as on another machine.
 */
import { execFile } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { promisify } from 'node:util';
import { perTest, type Defer } from './teardown.ts';

const run = promisify(execFile);

export interface OtherHost {
  /** Our address on the link to it. */
  readonly hereIp: string;
  /** Its address. */
  readonly thereIp: string;
  /** Run a command there; resolves with its output, rejects on a non-zero exit. */
  exec(command: string, args: string[]): Promise<{ stdout: string; stderr: string }>;
}

export async function otherHost(defer: Defer = perTest): Promise<OtherHost> {
  const n = randomInt(1, 250);
  const ns = `ps-test-${process.pid}-${n}`;
  const here = `psh${process.pid % 100000}x${n}`.slice(0, 15);
  const there = `pst${process.pid % 100000}x${n}`.slice(0, 15);
  const hereIp = `10.213.${n}.1`;
  const thereIp = `10.213.${n}.2`;
  await run('ip', ['netns', 'add', ns]);
  defer(() => run('ip', ['netns', 'del', ns]).catch(() => undefined));
  await run('ip', ['link', 'add', here, 'type', 'veth', 'peer', 'name', there]);
  defer(() => run('ip', ['link', 'del', here]).catch(() => undefined));
  await run('ip', ['link', 'set', there, 'netns', ns]);
  await run('ip', ['addr', 'add', `${hereIp}/24`, 'dev', here]);
  await run('ip', ['link', 'set', here, 'up']);
  await run('ip', ['netns', 'exec', ns, 'ip', 'addr', 'add', `${thereIp}/24`, 'dev', there]);
  await run('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', there, 'up']);
  await run('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);
  return {
    hereIp,
    thereIp,
    exec: (command, args) => run('ip', ['netns', 'exec', ns, command, ...args], { timeout: 60_000 }),
  };
}
