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

/** Exit status after an error that reached the top: EX_SOFTWARE, "internal software error". */
export const FATAL_EXIT_CODE = 70;

/**
 * The last resort, for a running peer process: an error that reaches the top (an unhandled
 * rejection or an uncaught exception) is a bug, since every known failure ends only its own work.
 * Its state may be half-updated, so the process logs it as fatal and exits with FATAL_EXIT_CODE
 * rather than run on and wedge or lie; a restart recovers from the data folder
 * (docs/ARCHITECTURE.md, "When something fails").
 */
export function exitOnEscapedError(log: { fatal(obj: object, msg: string): void }): void {
  const die = (err: unknown, origin: string) => {
    const message = `peershare: an error escaped (${origin}); this is a bug, please report it. Exiting; restart to recover.`;
    try {
      log.fatal({ err, origin }, message);
      process.stderr.write(`${message}\n${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    } finally {
      process.exit(FATAL_EXIT_CODE);
    }
  };
  process.on('uncaughtException', (err, origin) => die(err, origin));
  process.on('unhandledRejection', (reason) => die(reason, 'unhandledRejection'));
}
