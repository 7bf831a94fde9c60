/** Lifecycle glue for the composition root: run extra parts alongside a service. */
import type { SearchService } from '../search/service.ts';

export interface Part {
  start?(): Promise<void> | void;
  stop?(): Promise<void> | void;
}

/**
 * Search, with `parts` started before it and stopped after it in reverse order (a poller feeding
 * its neighbour port, a catalog it reads but does not own). Every other member is the service's
 * own, read through to it (its addresses are known only once it has started).
 */
export function withParts(service: SearchService, ...parts: Part[]): SearchService {
  return {
    name: service.name,
    engine: service.engine,
    links: service.links,
    get searchAddress() {
      return service.searchAddress;
    },
    get apiUrl() {
      return service.apiUrl;
    },
    async start() {
      for (const part of parts) await part.start?.();
      await service.start();
    },
    async stop() {
      await service.stop();
      for (const part of [...parts].reverse()) await part.stop?.();
    },
  };
}
