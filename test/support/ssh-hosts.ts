/**
 * SSH on test hosts (test/support/testbed.ts), as a deploy reaches real machines: each host runs
 * OpenSSH's sshd on port 22 of its address (installed with apt-get when missing), letting in root
 * with a key this test makes and no other. Every sshd is stopped when the test ends.
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { perTest, type Defer } from './teardown.ts';
import type { TestHost } from './testbed.ts';

const SSHD = '/usr/sbin/sshd';
const INSTALL_TIMEOUT_MS = 300_000;
const START_TIMEOUT_MS = 20_000;
const run = promisify(execFile);

async function ensureSshd(): Promise<void> {
  if (existsSync(SSHD)) return;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    run('apt-get', ['install', '-y', '-qq', 'openssh-server'], { timeout: INSTALL_TIMEOUT_MS, env });
  await install().catch(async () => {
    await run('apt-get', ['update', '-qq'], { timeout: INSTALL_TIMEOUT_MS });
    await install();
  });
}

export interface SshAccess {
  /** The private key that opens every host. */
  readonly key: string;
  /** `ssh` with the options a test needs (this key, no host key prompts or records, never a password), before `root@HOST`. */
  readonly ssh: readonly string[];
}

/**
 * How a program is run on `host`: in its network namespace, or as `enter` says (a SystemdHost's,
 * say). A command that forks sshd (nsenter into a PID namespace does) leaves it to whatever ends
 * that namespace: SIGTERM stops only the command.
 */
export type Enter = (host: TestHost) => readonly string[];

/** Start sshd on every host, under `dir`; resolves once each listens. */
export async function startSshd(
  hosts: readonly TestHost[],
  dir: string,
  defer: Defer = perTest,
  enter: Enter = (host) => ['ip', 'netns', 'exec', host.ns],
): Promise<SshAccess> {
  await ensureSshd();
  mkdirSync('/run/sshd', { recursive: true }); // its privilege separation directory
  const key = join(dir, 'id_ed25519');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'peershare-test', '-f', key]);
  // Each host's sshd starts on its own: they start together.
  const start = async (host: TestHost): Promise<void> => {
    const home = join(dir, host.name);
    mkdirSync(home);
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(home, 'host_key')]);
    writeFileSync(join(home, 'authorized_keys'), readFileSync(`${key}.pub`));
    const config = [
      `ListenAddress ${host.ip}:22`,
      `HostKey ${join(home, 'host_key')}`,
      `PidFile ${join(home, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(home, 'authorized_keys')}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no', // the files are under the temp directory, not in a home
    ];
    writeFileSync(join(home, 'sshd_config'), `${config.join('\n')}\n`);
    const [command, ...args] = enter(host);
    const sshd = spawn(command!, [...args, SSHD, '-D', '-e', '-f', join(home, 'sshd_config')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const exited = once(sshd, 'exit').catch(() => undefined);
    defer(async () => {
      if (sshd.exitCode === null && sshd.signalCode === null) sshd.kill('SIGTERM');
      await exited;
    });
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(`is not listening after ${START_TIMEOUT_MS} ms`), START_TIMEOUT_MS);
      const fail = (why: string) => {
        clearTimeout(timer);
        reject(new Error(`sshd on ${host.name} ${why}; it printed:\n${output}`));
      };
      sshd.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        output += chunk;
        if (!output.includes('Server listening on')) return;
        clearTimeout(timer);
        resolve();
      });
      sshd.once('exit', (code, signal) => fail(`exited (${signal ?? code})`));
    });
  };
  await Promise.all(hosts.map(start));
  const ssh = [
    'ssh',
    '-i',
    key,
    '-o',
    'BatchMode=yes',
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'UserKnownHostsFile=/dev/null',
    '-o',
    'LogLevel=ERROR',
    '-o',
    'ConnectTimeout=10',
  ];
  return { key, ssh };
}
