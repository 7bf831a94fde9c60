/** Structured JSON logs (pino): one root logger per process, a child per service. */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, bindings: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { pid: process.pid, ...bindings } });
}

/** A logger that writes nothing, for tests and tools. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** A child of `logger` that logs nothing below `floor` (and nothing below the logger's own level). */
export function quieter(logger: Logger, floor: string): Logger {
  const values = pino.levels.values;
  const level = (values[logger.level] ?? 0) >= (values[floor] ?? 0) ? logger.level : floor;
  return logger.child({}, { level });
}
