/**
 * A peer split into five processes, one per service (`peershare service NAME`), all with the same
 * --host and --data, as the microservice deployment runs them: the services find each other on
 * the default ports of that host. Started at once, as a service manager would start them.
 */
import { once } from 'node:events';
import { join } from 'node:path';
import { SERVICE_NAMES, type ServiceName } from '../../src/peer/wiring.ts';
import { nextLoopback } from './loopback.ts';
import { spawnPeer, type PeerProcess } from './peer-process.ts';
import { perTest, type Defer } from './teardown.ts';
import { tempDir } from './temp.ts';

export interface SplitPeer {
  host: string;
  dataDir: string;
  peerId: string;
  processes: Record<ServiceName, PeerProcess>;
  /** Stop one service with SIGTERM, as Ctrl-C would; resolves with its exit status. */
  stopService(name: ServiceName): Promise<number | null>;
}

export interface SplitPeerOptions {
  /** Fetch addresses to join through. */
  join?: string[];
  /** More flags for every service, e.g. ['--amqp', URL]. */
  flags?: string[];
  /** More flags for one service only. */
  serviceFlags?: Partial<Record<ServiceName, string[]>>;
}

export async function startSplitPeer(options: SplitPeerOptions = {}, defer: Defer = perTest): Promise<SplitPeer> {
  const host = nextLoopback();
  const dataDir = join(tempDir(undefined, defer), 'data');
  const common = ['--host', host, '--data', dataDir, '--fetch-interval', '200', ...(options.flags ?? [])];
  const started = await Promise.all(
    SERVICE_NAMES.map((name) => {
      const join = name === 'fetch' ? (options.join ?? []).flatMap((j) => ['--join', j]) : [];
      return spawnPeer(['service', name, ...common, ...join, ...(options.serviceFlags?.[name] ?? [])], defer);
    }),
  );
  const processes = Object.fromEntries(SERVICE_NAMES.map((name, i) => [name, started[i]!])) as Record<
    ServiceName,
    PeerProcess
  >;
  const ids = new Set(started.map((p) => /^peershare peer ([a-z2-7]{52})$/m.exec(p.stderr())?.[1]));
  if (ids.size !== 1 || ids.has(undefined))
    throw new Error(`the services of one peer disagree on its id: ${[...ids].join(', ')}`);
  return {
    host,
    dataDir,
    peerId: [...ids][0]!,
    processes,
    async stopService(name) {
      const { child } = processes[name];
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number | null];
      return code;
    },
  };
}
