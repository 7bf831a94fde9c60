/**
 * A test host (testbed.ts) where systemd runs, as on a machine it boots: /lib/systemd/systemd
 * (Debian's package systemd) starts as PID 1 of new PID, mount and cgroup namespaces inside the
 * host's network namespace, in a cgroup of its own under ours (cgroup v2). The host sees this
 * machine's files, but its /run and /etc/systemd/system are its own (tmpfs), and its systemd
 * loads units only from there and from a folder of empty targets (sysinit, basic, multi-user…):
 * no unit of this machine starts (none of its services, no tmpfiles cleaning /tmp), and what a
 * test enables stays in the host. Commands run there with `enter` (nsenter into its namespaces),
 * where `systemctl` talks to that systemd. When the test ends its services are stopped, every
 * process of the cgroup is killed (cgroup.kill), which ends the PID namespace and everything in
 * it, and the cgroups go.
 */
import { execFile, spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { perTest, type Defer } from './teardown.ts';
import type { TestHost } from './testbed.ts';

const SYSTEMD = '/lib/systemd/systemd';
const BOOT_TIMEOUT_MS = 60_000;
const run = promisify(execFile);
/** Targets the units systemd or a service asks for by default, empty: nothing of this machine is pulled in. */
const TARGETS = [
  'sysinit',
  'basic',
  'multi-user',
  'default',
  'shutdown',
  'sockets',
  'timers',
  'paths',
  'slices',
  'local-fs',
  'local-fs-pre',
  'swap',
  'network',
  'network-online',
  'network-pre',
  'nss-lookup',
  'umount',
  'final',
];

/** The cgroup v2 folder this process is in, on this machine's mount of cgroup2. */
function ourCgroup(): string | undefined {
  const mount = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' '))
    .find((fields) => fields[2] === 'cgroup2')?.[1];
  const path = readFileSync('/proc/self/cgroup', 'utf8')
    .split('\n')
    .find((line) => line.startsWith('0::'))
    ?.slice(3);
  return mount === undefined || path === undefined ? undefined : join(mount, path);
}

/** Why a systemd host cannot be made here (one line), or undefined when it can. */
export function systemdUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'a systemd host needs root';
  if (!existsSync(SYSTEMD)) return `${SYSTEMD} is not installed (Debian package systemd)`;
  const cgroup = ourCgroup();
  if (cgroup === undefined || !existsSync(join(cgroup, 'cgroup.procs')))
    return 'no cgroup v2 hierarchy is mounted (systemd needs one)';
  if (!existsSync(join(cgroup, 'cgroup.kill'))) return 'cgroup v2 here has no cgroup.kill (Linux 5.14 or later)';
  return undefined;
}

export interface SystemdHost {
  /** The command and arguments that run a program on the host, in systemd's namespaces. */
  readonly enter: readonly string[];
  /** Run a command there; resolves with its output, rejects on a non-zero exit. */
  exec(command: string, args: string[]): Promise<{ stdout: string; stderr: string }>;
}

/** Boot systemd on `host`, its files under `dir`; resolves once systemd has finished starting up. */
export async function bootSystemd(host: TestHost, dir: string, defer: Defer = perTest): Promise<SystemdHost> {
  const why = systemdUnavailable();
  if (why !== undefined) throw new Error(why);
  const units = join(dir, 'units');
  mkdirSync(units);
  writeFileSync(join(units, 'peershare-test.target'), '[Unit]\nDescription=a peershare test host\n');
  for (const target of TARGETS)
    writeFileSync(join(units, `${target}.target`), `[Unit]\nDescription=${target} (empty on a test host)\n`);
  const script = join(dir, 'boot.sh');
  writeFileSync(
    script,
    [
      'set -e',
      'mount -t tmpfs -o mode=755 tmpfs /run',
      'mount -t tmpfs -o mode=755 tmpfs /etc/systemd/system',
      'mount -t cgroup2 cgroup2 /sys/fs/cgroup',
      'mkdir /run/sshd',
      `export container=peershare-test SYSTEMD_UNIT_PATH=/etc/systemd/system:${units}`,
      `exec ${SYSTEMD} --system --unit=peershare-test.target --log-level=warning`,
      '',
    ].join('\n'),
  );
  const cgroup = join(ourCgroup()!, `peershare-systemd-${process.pid}-${randomInt(1e9)}`);
  mkdirSync(cgroup);
  // The shell moves itself into the cgroup, then becomes unshare, whose child becomes systemd.
  const boot = spawn(
    'sh',
    [
      '-c',
      'echo $$ > "$1/cgroup.procs" && exec ip netns exec "$2" unshare --pid --fork --mount --cgroup --mount-proc sh "$3"',
      'sh',
      cgroup,
      host.ns,
      script,
    ],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let output = '';
  boot.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const ended = once(boot, 'exit').catch(() => undefined);
  // eslint-disable-next-line prefer-const -- read by the clean-up registered before it is set, which may run first (a const would throw there)
  let exec: SystemdHost['exec'] | undefined;
  defer(async () => {
    // Services stopped first clean up after themselves (PrivateTmp's folders in this machine's /tmp).
    await exec?.('systemctl', ['stop', '*.service']).catch(() => undefined);
    writeFileSync(join(cgroup, 'cgroup.kill'), '1');
    await ended;
    // Empty once its processes are gone: remove the deepest cgroups first.
    const tree = (path: string): string[] => [
      ...readdirSync(path, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .flatMap((e) => tree(join(path, e.name))),
      path,
    ];
    for (const path of tree(cgroup)) {
      for (let round = 0; ; round++) {
        try {
          rmdirSync(path);
          break;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EBUSY' || round > 100) throw err;
          await new Promise((r) => setTimeout(r, 20)); // the kernel has yet to release its last process
        }
      }
    }
  });

  // systemd moves itself into init.scope once it runs; then it says when start-up is over.
  const scope = join(cgroup, 'init.scope', 'cgroup.procs');
  const deadline = Date.now() + BOOT_TIMEOUT_MS;
  let pid: number | undefined;
  while (pid === undefined) {
    if (boot.exitCode !== null || boot.signalCode !== null)
      throw new Error(`systemd did not boot on ${host.name} (${boot.exitCode ?? boot.signalCode}):\n${output}`);
    if (Date.now() > deadline)
      throw new Error(`systemd did not start on ${host.name} within ${BOOT_TIMEOUT_MS} ms:\n${output}`);
    const first = existsSync(scope) ? readFileSync(scope, 'utf8').split('\n')[0] : '';
    if (first) pid = Number(first);
    else await new Promise((r) => setTimeout(r, 50));
  }
  const enter = ['nsenter', '-t', String(pid), '-m', '-n', '-p', '--'];
  exec = (command: string, args: string[]) =>
    run(enter[0]!, [...enter.slice(1), command, ...args], { timeout: BOOT_TIMEOUT_MS });
  const state = await exec('systemctl', ['is-system-running', '--wait']).catch(
    (err: Error & { stdout?: string; stderr?: string }) => {
      throw new Error(`systemd on ${host.name} did not come up: ${err.stdout ?? ''}${err.stderr ?? String(err)}`);
    },
  );
  if (state.stdout.trim() !== 'running') throw new Error(`systemd on ${host.name} is ${state.stdout.trim()}`);
  return { enter, exec };
}
