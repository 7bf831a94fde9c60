/**
 * A private RabbitMQ node for tests that stop, restart or reconfigure the broker, so the machine's
 * shared broker (127.0.0.1:5672) is never touched: its own node name, AMQP and distribution ports
 * on 127.0.0.1, its own data, log, config, plugins (none, so no management listener) and Erlang
 * cookie, all in one temp folder. It is run as the current user straight from RabbitMQ's scripts
 * (not Debian's /usr/sbin wrappers, which switch to the rabbitmq user and the shared cookie).
 *
 * It is driven through one control node (erlang-control.ts), not rabbitmqctl, which boots a VM
 * per call. A run cut short (Ctrl-C, SIGKILL of vitest) closes the control node's stdin, and it
 * stops the node; should that fail too, every start first sweeps the nodes whose owning process
 * is gone: each folder is named with the NODE_PREFIX and records its owner's pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { freePort } from './loopback.ts';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { ErlangControl } from './erlang-control.ts';

/** Node names and folders of private nodes start with this; the sweep looks for nothing else. */
export const NODE_PREFIX = 'peershare-rabbit-';
/** Bound on one node's boot (pid file, distribution, the rabbit app), generous for a loaded machine. */
const STARTUP_TIMEOUT_MS = 120_000;
/** Bound on one command to the node (a stop or start of the rabbit app). */
const CTL_TIMEOUT_MS = 60_000;
/** How often the control node asks whether the node is up yet while it boots. */
const NODE_POLL_MS = 200;
/** How long a stopped node may take to exit before it is killed. */
const STOP_GRACE_MS = 20_000;
/** A boot that fails (a port taken between choosing and binding it) is tried again this often. */
const START_ATTEMPTS = 3;

export interface RabbitNode {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  /**
   * Evaluates an Erlang expression on a control node connected to this node (`Node` names it,
   * e.g. `rpc:call(Node, rabbit, stop, [])`); resolves with `{ok,Value}` or `{Class,Reason}`.
   */
  eval(expr: string): Promise<string>;
  /** Stops the node and removes its folder; safe to call twice. */
  stop(): Promise<void>;
}

/** Where RabbitMQ's own scripts live (Debian: /usr/lib/rabbitmq/bin; elsewhere beside rabbitmq-server). */
function scriptsDir(): string {
  const candidates = [
    process.env.PEERSHARE_TEST_RABBITMQ_BIN,
    '/usr/lib/rabbitmq/bin',
    ...(process.env.PATH ?? '').split(':'),
  ];
  for (const dir of candidates)
    if (dir && existsSync(join(dir, 'rabbitmq-server')) && existsSync(join(dir, 'rabbitmq-env'))) return dir;
  throw new Error('the RabbitMQ tests need rabbitmq-server (Debian: apt-get install rabbitmq-server); none found');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The processes with `text` or a path under it as an argument (the node's folder: beam runs with -home DIR). */
function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (args.some((a) => a === text || a.startsWith(`${text}/`))) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

function killAll(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}

/**
 * Stops the private nodes left by runs that were cut short (their owner process is gone) and
 * removes their folders. A throwaway node holds nothing worth a graceful stop.
 */
export function sweepLeftoverNodes(): string[] {
  const swept: string[] = [];
  for (const entry of readdirSync(tmpdir())) {
    if (!entry.startsWith(NODE_PREFIX)) continue;
    const dir = join(tmpdir(), entry);
    let owner: number;
    try {
      owner = Number(readFileSync(join(dir, 'owner'), 'utf8'));
    } catch {
      continue; // being created right now (the owner file is written first thing)
    }
    if (owner > 0 && alive(owner)) continue;
    killAll(processesMentioning(dir));
    rmSync(dir, { recursive: true, force: true });
    swept.push(entry);
  }
  return swept;
}

interface Layout {
  name: string;
  dir: string;
  port: number;
  distPort: number;
  env: NodeJS.ProcessEnv;
}

async function layout(): Promise<Layout> {
  const dir = mkdtempSync(join(tmpdir(), NODE_PREFIX));
  writeFileSync(join(dir, 'owner'), String(process.pid));
  const name = `${basename(dir)}@localhost`;
  const [port, distPort] = [await freePort(), await freePort()];
  writeFileSync(
    join(dir, 'rabbitmq.conf'),
    `listeners.tcp.1 = 127.0.0.1:${port}\nlog.console = false\nlog.file.level = warning\n`,
  );
  writeFileSync(join(dir, 'enabled_plugins'), '[].\n');
  writeFileSync(join(dir, 'rabbitmq-env.conf'), ''); // not /etc/rabbitmq's, which names the shared node
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: dir, // the Erlang cookie of this node and of its control node
    RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_NODENAME: name,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_BASE: dir,
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_PID_FILE: join(dir, 'pid'),
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
    ERL_EPMD_ADDRESS: '127.0.0.1',
  };
  return { name, dir, port, distPort, env };
}

function logTail(dir: string): string {
  try {
    return readFileSync(join(dir, 'server.out'), 'utf8').slice(-2_000);
  } catch {
    return '';
  }
}

/** Boots one node and its control node; resolves once the rabbit app runs, rejects if the server exits first. */
async function boot(bin: string, l: Layout): Promise<{ child: ChildProcess; control: ErlangControl }> {
  const out = openSync(join(l.dir, 'server.out'), 'a');
  const child = spawn(join(bin, 'rabbitmq-server'), [], { cwd: l.dir, env: l.env, stdio: ['ignore', out, out] });
  closeSync(out);
  const control = new ErlangControl(`${basename(l.dir)}-ctl`, l.name, l.env);
  const exited = new Promise<never>((_, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      reject(new Error(`rabbitmq-server ${l.name} exited (${signal ?? code}) while starting:\n${logTail(l.dir)}`)),
    );
  });
  // Poll until the node is up (its name registered), then wait for the rabbit app on the node itself.
  const polls = Math.ceil(STARTUP_TIMEOUT_MS / NODE_POLL_MS);
  const awaitStartup = `(fun W(0) -> node_not_up; W(N) -> case net_adm:ping(Node) of pong -> rpc:call(Node, rabbit, await_startup, [], ${STARTUP_TIMEOUT_MS}); pang -> timer:sleep(${NODE_POLL_MS}), W(N - 1) end end)(${polls})`;
  try {
    const reply = await Promise.race([control.eval(awaitStartup, STARTUP_TIMEOUT_MS * 2), exited]);
    if (reply !== '{ok,ok}') throw new Error(`RabbitMQ node ${l.name} did not start: ${reply}\n${logTail(l.dir)}`);
    return { child, control };
  } catch (err) {
    control.close();
    child.kill('SIGKILL');
    killAll(processesMentioning(l.dir));
    throw err;
  }
}

/** Starts a private node and resolves once its rabbit app runs. */
export async function startRabbitNode(): Promise<RabbitNode> {
  sweepLeftoverNodes();
  const bin = scriptsDir();
  let lastError: unknown;
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    const l = await layout();
    try {
      const { child, control } = await boot(bin, l);
      return nodeHandle(l, child, control);
    } catch (err) {
      lastError = err;
      rmSync(l.dir, { recursive: true, force: true });
    }
  }
  throw lastError;
}

function nodeHandle(l: Layout, child: ChildProcess, control: ErlangControl): RabbitNode {
  let stopping: Promise<void> | undefined;
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  const stop = async () => {
    control.close(); // its loop stops the node as it exits
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([exited, control.exited]),
      new Promise((r) => (timer = setTimeout(r, STOP_GRACE_MS))),
    ]);
    clearTimeout(timer);
    // The server script may have gone before beam, or beam ignored the stop: leave nothing behind.
    killAll(processesMentioning(l.dir));
    rmSync(l.dir, { recursive: true, force: true });
  };
  return {
    name: l.name,
    port: l.port,
    url: `amqp://guest:guest@127.0.0.1:${l.port}`,
    dir: l.dir,
    eval: (expr) => control.eval(expr, CTL_TIMEOUT_MS),
    stop: () => (stopping ??= stop()),
  };
}
