/**
 * A whole peer for tests: every service in one process, wired by the composition root exactly
 * as `peershare start` wires it, on its own loopback address with the default ports.
 */
import { join } from 'node:path';
import { createPeerContext, startPeer, type RunningPeer } from '../../src/peer/wiring.ts';
import { DEFAULT_PORTS, loadConfig, type SettingName } from '../../src/shared/config.ts';
import { silentLogger } from '../../src/shared/logging.ts';
import { nextLoopback } from './loopback.ts';
import { perTest, type Defer } from './teardown.ts';
import { tempDir } from './temp.ts';

export interface FullPeer extends RunningPeer {
  host: string;
  dataDir: string;
  files: string;
  fetch: string;
  search: string;
  download: string;
  /** The Client API, which the peershare commands talk to. */
  client: string;
}

export async function startFullPeer(
  flags: Partial<Record<SettingName, unknown>> = {},
  defer: Defer = perTest,
): Promise<FullPeer> {
  const host = (flags.host as string | undefined) ?? nextLoopback();
  const dataDir = (flags.dataDir as string | undefined) ?? join(tempDir(undefined, defer), 'data');
  const config = loadConfig({ flags: { fetchInterval: '200', ...flags, host, dataDir } });
  const peer = await startPeer(createPeerContext(config, silentLogger()));
  defer(() => peer.stop());
  return {
    ...peer,
    host,
    dataDir,
    files: `http://${host}:${DEFAULT_PORTS.filesPort}`,
    fetch: `http://${host}:${DEFAULT_PORTS.fetchPort}`,
    search: `http://${host}:${DEFAULT_PORTS.searchApiPort}`,
    download: `http://${host}:${DEFAULT_PORTS.downloadPort}`,
    client: `http://${host}:${DEFAULT_PORTS.clientPort}`,
  };
}
