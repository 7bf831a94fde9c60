/**
 * The Client service factory: wires the use cases (ClientApp) to the ports of the peer's other
 * services it is given, and serves the Client API and the web UI on its own port. It owns no
 * store: everything it shows lives in the services it drives.
 */
import { adminGuard } from '../shared/admin-guard.ts';
import { createHttpApp, listen, type HttpApp } from '../shared/http-server.ts';
import type { Startable } from '../shared/lifecycle.ts';
import type { Logger } from '../shared/logging.ts';
import { isSafeFileName } from '../shared/names.ts';
import { serveMetrics, ServiceMetrics } from '../shared/metrics.ts';
import { hostPort } from '../shared/address.ts';
import { registerClientRoutes } from './adapters/http/client-routes.ts';
import { registerWebUi } from './adapters/http/web-ui.ts';
import { ClientApp } from './domain/client-app.ts';
import type { VoteSettings } from './domain/pick.ts';
import type { ClientPorts } from './ports.ts';

export interface ClientServiceComponents {
  ports: ClientPorts;
  logger: Logger;
  peerId: string;
  /** host:port of each of the peer's services, shown by status. */
  addresses: Record<string, string>;
  host: string;
  port: number;
  apiToken: string | undefined;
  /** Host names the API answers to besides IP addresses and localhost (the allowedHosts setting). */
  allowedHosts?: readonly string[];
  /** How get by name searches and weighs its vote (the getWant and getVoteMargin settings; default: theirs). */
  voting?: VoteSettings;
}

export interface ClientService extends Startable {
  readonly app: ClientApp;
  /** Base URL of the Client API once started. */
  readonly url: string;
}

export function createClientService(c: ClientServiceComponents): ClientService {
  const client = new ClientApp(
    c.ports,
    { peerId: c.peerId, addresses: c.addresses, startedAt: Date.now() },
    isSafeFileName,
    Date.now,
    c.voting,
  );
  let http: HttpApp | undefined;
  let url = '';
  return {
    name: 'client',
    app: client,
    get url() {
      return url;
    },
    async start() {
      http = await createHttpApp({
        service: 'client',
        logger: c.logger,
        allowedHosts: c.allowedHosts,
        health: () => ({ peerId: c.peerId }),
      });
      registerClientRoutes(http, client, adminGuard(c.host, c.apiToken));
      // The Client counts nothing of its own (what it shows lives in the other services): its info and uptime.
      serveMetrics(http, new ServiceMetrics('client', c.peerId), { host: c.host, apiToken: c.apiToken });
      registerWebUi(http);
      const bound = await listen(http, c.host, c.port);
      url = `http://${hostPort(bound.host, bound.port)}`;
      c.logger.info({ url }, 'client service listening');
    },
    async stop() {
      await http?.close();
      http = undefined;
    },
  };
}
