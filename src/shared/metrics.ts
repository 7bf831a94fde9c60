/**
 * GET /metrics: each service's counters in the Prometheus text format, read from the same values
 * its /health and `peershare status` show (nothing is counted twice). Every service has its own
 * prom-client Registry (several services share one process, so the global default registry
 * would mix them), and adds a metric the one way this file offers: a name, a help line and a
 * function that reads the current value(s) when the route is scraped.
 *
 * The route is for this host's user only, like the admin routes: it tells who downloads what. A
 * peer over TLS is refused (403); a plaintext caller needs loopback on a loopback-bound service,
 * and the API token otherwise.
 */
import type { FastifyRequest } from 'fastify';
import { Counter, Gauge, Registry } from 'prom-client';
import { isAdminCaller } from './admin-guard.ts';
import { PeershareError } from './errors.ts';
import type { HttpApp } from './http-server.ts';
import { callingPeer } from './peer-port.ts';
import { refuseOtherSites } from './site-guard.ts';

/** Every series is named peershare_<service>_<name>. */
export const METRIC_PREFIX = 'peershare';

export type Labels = Record<string, string>;
/** One value, or one value per label set. */
export type Sample = number | ReadonlyArray<readonly [Labels, number]>;
export type Read = () => Sample | Promise<Sample>;

function labelled(sample: Sample): ReadonlyArray<readonly [Labels, number]> {
  return typeof sample === 'number' ? [[{}, sample]] : sample;
}

/** The metrics of one service: its own registry, and the one way to add a series to it. */
export class ServiceMetrics {
  readonly registry = new Registry();
  readonly #startedAt = Date.now();

  constructor(
    readonly service: string,
    peerId: string,
  ) {
    this.gauge('info', 'The service and the peer id it runs for (always 1).', () => [[{ peer_id: peerId }, 1]], [
      'peer_id',
    ]);
    this.gauge('uptime_seconds', 'Seconds since the service started.', () => (Date.now() - this.#startedAt) / 1000);
  }

  name(name: string): string {
    return `${METRIC_PREFIX}_${this.service}_${name}`;
  }

  /** A value that goes up and down (peers known, queue depth, links), read at each scrape. */
  gauge(name: string, help: string, read: Read, labelNames: readonly string[] = []): void {
    this.registry.registerMetric(
      new Gauge({
        name: this.name(name),
        help,
        labelNames,
        registers: [],
        async collect() {
          const sample = labelled(await read());
          this.reset();
          for (const [labels, value] of sample) this.set(labels, value);
        },
      }),
    );
  }

  /** A count that only grows while the service runs (name ends in _total), read at each scrape. */
  counter(name: string, help: string, read: Read, labelNames: readonly string[] = []): void {
    if (!name.endsWith('_total')) throw new Error(`counter ${name} must end in _total`);
    this.registry.registerMetric(
      new Counter({
        name: this.name(name),
        help,
        labelNames,
        registers: [],
        async collect() {
          const sample = labelled(await read());
          this.reset();
          for (const [labels, value] of sample) this.inc(labels, value);
        },
      }),
    );
  }

  /** The text exposition and its content type. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

/**
 * An onRequest hook for /metrics: never a TLS peer, never a page of another site, and otherwise
 * the admin routes' rule (loopback on a loopback-bound service, else the API token).
 */
export function localReader(boundHost: string, token: string | undefined): (request: FastifyRequest) => Promise<void> {
  const isAdmin = isAdminCaller(boundHost, token);
  return async (request) => {
    if (callingPeer(request) !== undefined)
      throw new PeershareError('FORBIDDEN', "GET /metrics is for this peer's local user, not for other peers");
    refuseOtherSites(request);
    if (isAdmin(request)) return;
    if (token)
      throw new PeershareError('UNAUTHORIZED', 'this route needs the API token (Authorization: Bearer <token>)');
    throw new PeershareError('FORBIDDEN', 'this route is only served to callers on this machine');
  };
}

/** Serve `metrics` at GET /metrics on `app`, to the callers `localReader` lets through. */
export function serveMetrics(
  app: HttpApp,
  metrics: ServiceMetrics,
  access: { host: string; apiToken: string | undefined },
): void {
  app.get(
    '/metrics',
    {
      onRequest: localReader(access.host, access.apiToken),
      schema: { summary: "Counters in the Prometheus text format (this host's user only)" },
    },
    async (_request, reply) => {
      const { contentType, body } = await metrics.scrape();
      return reply.type(contentType).send(body);
    },
  );
}
