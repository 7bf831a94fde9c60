/**
 * The lifecycle every service shares: start() brings it up, stop() releases every socket, timer
 * and file handle it holds. startAll() starts a list in order and stops it in reverse.
 */

export interface Startable {
  /** A short name for logs ("files", "search", ...). */
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface Running {
  /** Stop everything that was started, in reverse order; safe to call more than once. */
  stop(): Promise<void>;
}

/** Start each service in order; if one fails, stop those already started and rethrow. */
export async function startAll(services: readonly Startable[]): Promise<Running> {
  const started: Startable[] = [];
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      const errors: unknown[] = [];
      for (const service of started.reverse()) {
        try {
          await service.stop();
        } catch (err) {
          errors.push(err);
        }
      }
      if (errors.length > 0) throw new AggregateError(errors, 'some services did not stop cleanly');
    })());
  try {
    for (const service of services) {
      await service.start();
      started.push(service);
    }
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
  return { stop };
}

/** Run `shutdown` once on the first SIGINT or SIGTERM; a second signal exits at once. */
export function onShutdownSignal(shutdown: (signal: NodeJS.Signals) => Promise<void>): () => void {
  let shuttingDown = false;
  const handler = (signal: NodeJS.Signals) => {
    if (shuttingDown) process.exit(130);
    shuttingDown = true;
    shutdown(signal).then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
