/** Lifecycle glue for the composition root: run extra parts alongside a service. */
import type { Startable } from '../shared/lifecycle.ts';

export interface Part {
  start?(): Promise<void> | void;
  stop?(): Promise<void> | void;
}

/**
 * The service, with `parts` started before it and stopped after it (a poller feeding one of its
 * ports, a database it reads but does not own). The service's other members stay reachable.
 */
export function withParts<S extends Startable>(service: S, ...parts: Part[]): S {
  return Object.assign(Object.create(service) as S, {
    start: async () => {
      for (const part of parts) await part.start?.();
      await service.start();
    },
    stop: async () => {
      await service.stop();
      for (const part of [...parts].reverse()) await part.stop?.();
    },
  });
}
