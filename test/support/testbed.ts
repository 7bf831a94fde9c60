/**
 * Hosts for tests that cross a network: N Linux network namespaces, each with one interface on a
 * private /24 and /64 (10.x.y.0/24 and fdxx:…::/64, chosen at random per test bed, inside namespaces this test bed makes:
 * no packet leaves this machine), joined by a bridge in a namespace of its own (the "switch"), so
 * that the root namespace and every other test are untouched. A whole peer runs on a host with
 * the default ports, bound to whatever it likes (0.0.0.0 included), as on a separate machine.
 *
 * A host may sit behind a NAT of its own (options.behindNat): a router namespace between it and
 * the switch masquerades its connections and drops new ones coming in, as a home router does.
 * With options.upnp the routers also run miniupnpd (Debian's miniupnpd-nftables, installed when
 * missing), a real UPnP IGD that forwards what its host asks for. miniupnpd refuses to map on a
 * router whose external address is private, so such a test bed's network is a /24 in 11.0.0.0/8
 * instead (not routed from this machine, and no packet leaves the test bed's namespaces anyway).
 *
 * Faults: cut a host off (its switch port down) and bring it back; split the hosts in two
 * partitions (the second half moves to another bridge) and heal; cap a host's upload rate (tc
 * tbf: netem is not in this kernel). Needs root (`canCreateHosts`); everything is removed when
 * the test ends.
 */
import { execFile, spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { spawnPeer, type PeerProcess } from './peer-process.ts';
import { BIN, type CommandResult } from './run-command.ts';
import { perTest, type Defer } from './teardown.ts';

const COMMAND_TIMEOUT_MS = 60_000;
const execFileAsync = promisify(execFile);
/** Every command has a deadline: a stuck `ip` or `tc` fails the test instead of stalling it. */
const run = (command: string, args: string[], options: { timeout?: number } = {}) =>
  execFileAsync(command, args, { timeout: COMMAND_TIMEOUT_MS, ...options });

/** Whether this process may create network namespaces (root); tests skip with one line otherwise. */
export const canCreateHosts = process.getuid?.() === 0;

export interface TestHost {
  readonly name: string;
  /** Its network namespace. */
  readonly ns: string;
  /** Its IPv4 address on the test bed's network. */
  readonly ip: string;
  /** Its IPv6 address there (a unique local address, fd00::/8); none behind a NAT. */
  readonly ip6: string;
  /** The address other hosts see it at: its own, or its NAT router's. */
  readonly publicIp: string;
  readonly behindNat: boolean;
  /** Run a command there; resolves with its output, rejects on a non-zero exit. */
  exec(command: string, args: string[]): Promise<{ stdout: string; stderr: string }>;
  /** Start `peershare ARGS` (start or service) there; killed when the test ends. */
  startPeer(args: string[]): Promise<PeerProcess>;
  /** The `--data` folder of the peer last started there (its API token is in it: test/support/host-metrics.ts). */
  readonly dataDir: string | undefined;
  /** Run the `peershare` command there (a CLI call to the peer on that host); never rejects on its exit code. */
  peershare(args: string[]): Promise<CommandResult>;
  /** `peershare ARGS --json` there, parsed; rejects with its stderr when it exits non-zero. */
  peershareJson<T>(args: string[]): Promise<T>;
}

export interface Testbed {
  readonly hosts: readonly TestHost[];
  /** Take `host` off the network (its switch port down), or bring it back. */
  cut(host: TestHost): Promise<void>;
  restore(host: TestHost): Promise<void>;
  /** Hosts in `side` can reach one another and no other host until heal(). */
  partition(side: readonly TestHost[]): Promise<void>;
  heal(): Promise<void>;
  /** Cap what `host` sends to `bitsPerSecond` (tc tbf on its interface). */
  cap(host: TestHost, bitsPerSecond: number): Promise<void>;
}

export interface TestbedOptions {
  /**
   * Hosts (by index) behind a NAT of their own, as behind a home router: the host sits on a
   * private network (192.168.77.2) behind a router namespace that holds the address on the test
   * bed, masquerades what goes out and drops new connections coming in (nftables; installed with
   * apt-get when missing).
   */
  behindNat?: readonly number[];
  /** The NAT routers run a UPnP IGD (miniupnpd) their host may ask to forward ports. */
  upnp?: boolean;
}

/** The private network behind each NAT router (each router's is its own, so one range serves all). */
const LAN = { host: '192.168.77.2', router: '192.168.77.1', prefix: 24 };

/** Install a Debian package unless `probe` (a command and its arguments) already runs. */
async function ensurePackage(pkg: string, probe: [string, string[]]): Promise<void> {
  if (
    await run(...probe).then(
      () => true,
      () => false,
    )
  )
    return;
  const install = () =>
    execFileAsync('apt-get', ['install', '-y', '-qq', pkg], {
      timeout: 300_000,
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  await install().catch(async () => {
    await run('apt-get', ['update', '-qq'], { timeout: 300_000 });
    await install();
  });
}

const ensureNftables = () => ensurePackage('nftables', ['nft', ['--version']]);
const ensureMiniupnpd = () => ensurePackage('miniupnpd-nftables', ['miniupnpd', ['--version']]);

/**
 * The router's nftables for miniupnpd: its chains (miniupnpd, prerouting_miniupnpd,
 * postrouting_miniupnpd in table inet filter, where miniupnpd 2.3 writes) hooked in, masquerade
 * out of eth0, and new connections from eth0 dropped unless a mapping forwards them.
 */
const UPNP_RULESET = `
table inet filter {
  chain forward {
    type filter hook forward priority 0; policy accept;
    jump miniupnpd
    iifname "eth0" ct state new drop
  }
  chain input {
    type filter hook input priority 0; policy accept;
    iifname "eth0" ct state new drop
  }
  chain miniupnpd {
  }
  chain prerouting {
    type nat hook prerouting priority -100; policy accept;
    jump prerouting_miniupnpd
  }
  chain postrouting {
    type nat hook postrouting priority 100; policy accept;
    jump postrouting_miniupnpd
    oifname "eth0" masquerade
  }
  chain prerouting_miniupnpd {
  }
  chain postrouting_miniupnpd {
  }
}
`;

/** miniupnpd's settings: UPnP IGD on the LAN side only, mappings only for the LAN's own addresses (secure mode). */
const MINIUPNPD_CONF = `ext_ifname=eth0
listening_ip=lan0
port=5000
enable_upnp=yes
enable_natpmp=no
secure_mode=yes
system_uptime=yes
allow 1024-65535 ${'192.168.77.0'}/24 1024-65535
deny 0-65535 0.0.0.0/0 0-65535
`;

/** Make namespace `router` a home router for `host`: masquerade out of eth0, drop new connections into it; with `upnp`, forward what miniupnpd maps. */
async function natRouter(
  router: string,
  host: string,
  publicIp: string,
  sw: string,
  port: string,
  upnp: boolean,
  defer: Defer,
): Promise<void> {
  const inRouter = (command: string, ...args: string[]) => run('ip', ['netns', 'exec', router, command, ...args]);
  await run('ip', ['-n', router, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', port, 'netns', sw]);
  await run('ip', ['-n', router, 'link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host]);
  await inRouter('ip', 'addr', 'add', `${publicIp}/24`, 'dev', 'eth0');
  await inRouter('ip', 'addr', 'add', `${LAN.router}/${LAN.prefix}`, 'dev', 'lan0');
  for (const dev of ['eth0', 'lan0', 'lo']) await inRouter('ip', 'link', 'set', dev, 'up');
  await inRouter('sysctl', '-q', '-w', 'net.ipv4.ip_forward=1');
  if (upnp) {
    await upnpRouter(router, defer);
  } else {
    await plainNat(inRouter);
  }
  const inHost = (...args: string[]) => run('ip', ['netns', 'exec', host, 'ip', ...args]);
  await inHost('addr', 'add', `${LAN.host}/${LAN.prefix}`, 'dev', 'eth0');
  await inHost('link', 'set', 'eth0', 'up');
  await inHost('route', 'add', 'default', 'via', LAN.router);
}

async function plainNat(inRouter: (command: string, ...args: string[]) => Promise<unknown>): Promise<void> {
  await inRouter('nft', 'add', 'table', 'ip', 'nat');
  await inRouter('nft', 'add', 'chain', 'ip', 'nat', 'out', '{ type nat hook postrouting priority 100 ; }');
  await inRouter('nft', 'add', 'rule', 'ip', 'nat', 'out', 'oifname', 'eth0', 'masquerade');
  await inRouter('nft', 'add', 'table', 'ip', 'guard');
  for (const hook of ['forward', 'input']) {
    await inRouter(
      'nft',
      'add',
      'chain',
      'ip',
      'guard',
      hook,
      `{ type filter hook ${hook} priority 0 ; policy accept ; }`,
    );
    await inRouter('nft', 'add', 'rule', 'ip', 'guard', hook, 'iifname', 'eth0', 'ct', 'state', 'new', 'drop');
  }
}

/** The router's UPnP IGD: the ruleset miniupnpd writes into, and miniupnpd itself in the foreground, stopped with the test bed. */
async function upnpRouter(router: string, defer: Defer): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'peershare-upnp-'));
  defer(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'rules.nft'), UPNP_RULESET);
  writeFileSync(join(dir, 'miniupnpd.conf'), MINIUPNPD_CONF);
  await run('ip', ['netns', 'exec', router, 'nft', '-f', join(dir, 'rules.nft')]);
  const daemon = spawn(
    'ip',
    ['netns', 'exec', router, 'miniupnpd', '-d', '-f', join(dir, 'miniupnpd.conf'), '-P', join(dir, 'miniupnpd.pid')],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  daemon.stderr.on('data', (chunk: Buffer) => void (log = (log + chunk.toString('utf8')).slice(-4096)));
  const exited = once(daemon, 'exit').catch(() => undefined);
  defer(async () => {
    if (daemon.exitCode === null && daemon.signalCode === null) daemon.kill('SIGTERM');
    await exited;
  });
  // Up once its HTTP side listens; an early exit (a refused setting, say) fails the test bed with its log.
  for (;;) {
    if (log.includes('HTTP listening on port')) return;
    if (daemon.exitCode !== null || daemon.signalCode !== null)
      throw new Error(`miniupnpd did not start in ${router}: ${log}`);
    await Promise.race([once(daemon.stderr, 'data'), exited]);
  }
}

export async function createTestbed(
  count: number,
  defer: Defer = perTest,
  options: TestbedOptions = {},
): Promise<Testbed> {
  if (count < 1 || count > 200) throw new Error(`a test bed holds 1 to 200 hosts, not ${count}`);
  const natted = new Set(options.behindNat ?? []);
  if (natted.size > 0) await ensureNftables();
  const upnp = natted.size > 0 && options.upnp === true;
  if (upnp) await ensureMiniupnpd();
  const id = `${process.pid % 1000}${randomInt(1000)}`.padStart(4, '0');
  const net = upnp ? `11.${200 + randomInt(50)}.${randomInt(250)}` : `10.${200 + randomInt(50)}.${randomInt(250)}`;
  const net6 = `fd${randomInt(256).toString(16).padStart(2, '0')}:${randomInt(65536).toString(16)}:${randomInt(65536).toString(16)}`;
  const sw = `ps-sw-${id}`;
  const inSwitch = (...args: string[]) => run('ip', ['netns', 'exec', sw, 'ip', ...args]);
  await run('ip', ['netns', 'add', sw]);
  defer(() => run('ip', ['netns', 'del', sw]).catch(() => undefined));
  for (const bridge of ['br0', 'br1']) {
    await inSwitch('link', 'add', bridge, 'type', 'bridge');
    await inSwitch('link', 'set', bridge, 'up');
  }
  await inSwitch('link', 'set', 'lo', 'up');

  const hosts: Array<TestHost & { port: string }> = [];
  for (let i = 0; i < count; i++) {
    const ns = `ps-h${i}-${id}`;
    const port = `sw${i}`;
    const ip = `${net}.${i + 2}`;
    const ip6 = `${net6}::${(i + 2).toString(16)}`;
    const inHost = (...args: string[]) => run('ip', ['netns', 'exec', ns, 'ip', ...args]);
    await run('ip', ['netns', 'add', ns]);
    defer(() => run('ip', ['netns', 'del', ns]).catch(() => undefined));
    const behindNat = natted.has(i);
    if (behindNat) {
      const router = `ps-r${i}-${id}`;
      await run('ip', ['netns', 'add', router]);
      defer(() => run('ip', ['netns', 'del', router]).catch(() => undefined));
      await natRouter(router, ns, ip, sw, port, upnp, defer);
    } else {
      // Both ends are made inside the namespaces (the host's end named eth0): no name clashes with other test beds.
      await run('ip', ['-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', port, 'netns', sw]);
      await inHost('addr', 'add', `${ip}/24`, 'dev', 'eth0');
      await inHost('addr', 'add', `${ip6}/64`, 'dev', 'eth0', 'nodad'); // usable at once, no duplicate detection wait
      await inHost('link', 'set', 'eth0', 'up');
    }
    await inSwitch('link', 'set', port, 'master', 'br0');
    await inSwitch('link', 'set', port, 'up');
    await inHost('link', 'set', 'lo', 'up');
    const exec = (command: string, args: string[]) =>
      run('ip', ['netns', 'exec', ns, command, ...args], { timeout: COMMAND_TIMEOUT_MS });
    const peershare = (args: string[]): Promise<CommandResult> =>
      exec(process.execPath, [BIN, ...args]).then(
        ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
        (err: Error & { code?: number; stdout?: string; stderr?: string }) => ({
          code: typeof err.code === 'number' ? err.code : null,
          stdout: err.stdout ?? '',
          stderr: err.stderr ?? String(err),
        }),
      );
    let dataDir: string | undefined;
    hosts.push({
      name: `host${i}`,
      ns,
      ip: behindNat ? LAN.host : ip,
      ip6: behindNat ? '' : ip6,
      publicIp: ip,
      behindNat,
      port,
      exec,
      startPeer(args) {
        if (args.includes('--data')) dataDir = args[args.indexOf('--data') + 1];
        return spawnPeer(args, defer, ['ip', 'netns', 'exec', ns]);
      },
      get dataDir() {
        return dataDir;
      },
      peershare,
      async peershareJson<T>(args: string[]): Promise<T> {
        const result = await peershare([...args, '--json']);
        if (result.code !== 0)
          throw new Error(`peershare ${args.join(' ')} on host${i} exited ${result.code}: ${result.stderr}`);
        return JSON.parse(result.stdout) as T;
      },
    });
  }
  const portOf = (host: TestHost) => (host as TestHost & { port: string }).port;
  return {
    hosts,
    cut: async (host) => void (await inSwitch('link', 'set', portOf(host), 'down')),
    restore: async (host) => void (await inSwitch('link', 'set', portOf(host), 'up')),
    async partition(side) {
      for (const host of side) await inSwitch('link', 'set', portOf(host), 'master', 'br1');
    },
    async heal() {
      for (const host of hosts) await inSwitch('link', 'set', host.port, 'master', 'br0');
    },
    async cap(host, bitsPerSecond) {
      const burst = Math.max(16 * 1024, Math.ceil(bitsPerSecond / 8 / 100)); // 10 ms worth, at least 16 KiB
      await host.exec('tc', [
        'qdisc',
        'replace',
        'dev',
        'eth0',
        'root',
        'tbf',
        'rate',
        `${bitsPerSecond}bit`,
        'burst',
        String(burst),
        'latency',
        '100ms',
      ]);
    },
  };
}
