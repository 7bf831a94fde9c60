/**
 * Logs (pino): one root logger per process, a child per service. JSON lines for machines (a pipe,
 * a file, journald), or one human-readable line per record on a terminal — never both in one
 * process, since the format is chosen once, when the root logger is made.
 *
 * The human lines come from a small formatter behind pino's destination stream rather than from
 * pino-pretty: it is one function, needs no worker-thread transport (whose lines can arrive after
 * the process's own last words), and adds no dependency.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogFormat } from './log-format.ts';

export type { Logger };

export { LOG_FORMATS, resolveLogFormat, type LogFormat, type LogFormatSetting } from './log-format.ts';

export interface LoggerOptions {
  /** JSON (the default) or human-readable lines, on stdout. */
  format?: LogFormat;
  /** Human lines: name each record's peer (short id) — for processes that run several peers. */
  showPeer?: boolean;
}

export function createLogger(
  level: string,
  bindings: Record<string, unknown> = {},
  options: LoggerOptions = {},
): Logger {
  const settings = { level, base: { pid: process.pid, ...bindings } };
  if (options.format !== 'human') return pino(settings);
  return pino(
    settings,
    humanStream(process.stdout, {
      showPeer: options.showPeer === true,
      colour: process.stdout.isTTY === true && !process.env.NO_COLOR,
    }),
  );
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

/** Fields every record carries, shown in their own columns or not at all. */
const FRAMED = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'service', 'peerId', 'v']);
/** A field value longer than this is cut (the JSON format keeps it whole). */
const MAX_VALUE_CHARS = 160;
const LEVEL_COLOURS: Record<string, string> = {
  TRACE: '90',
  DEBUG: '36',
  INFO: '32',
  WARN: '33',
  ERROR: '31',
  FATAL: '35',
};

interface HumanOptions {
  showPeer: boolean;
  colour: boolean;
}

function humanStream(out: { write(text: string): unknown }, options: HumanOptions): DestinationStream {
  return { write: (line: string) => void out.write(humanLine(line, options)) };
}

/**
 * One pino JSON record as `HH:MM:SS.mmm LEVEL service  message  key=value ...`, in local time;
 * an error shows its message (and code), not its stack.
 */
export function humanLine(json: string, options: HumanOptions = { showPeer: false, colour: false }): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const t = new Date(typeof record.time === 'number' ? record.time : Date.now());
  const time = `${[t.getHours(), t.getMinutes(), t.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':')}.${String(t.getMilliseconds()).padStart(3, '0')}`;
  const label = (pino.levels.labels[Number(record.level)] ?? String(record.level)).toUpperCase();
  const level =
    options.colour && LEVEL_COLOURS[label] ? `\x1b[${LEVEL_COLOURS[label]}m${label.padEnd(5)}\x1b[0m` : label.padEnd(5);
  const peer = options.showPeer && typeof record.peerId === 'string' ? `${record.peerId.slice(0, 12)} ` : '';
  const service = `${peer}${typeof record.service === 'string' ? record.service : 'peer'}`.padEnd(peer ? 21 : 8);
  const fields = Object.entries(record)
    .filter(([key, value]) => !FRAMED.has(key) && value !== undefined)
    .map(([key, value]) => `${key}=${fieldText(key, value)}`);
  // pino writes msg as a string; anything else is shown as String() shows it, as before.
  // eslint-disable-next-line @typescript-eslint/no-base-to-string
  return [`${time} ${level} ${service}`, String(record.msg ?? ''), fields.join(' ')].filter(Boolean).join('  ') + '\n';
}

function fieldText(key: string, value: unknown): string {
  if (key === 'err' && value !== null && typeof value === 'object') {
    const err = value as { message?: unknown; code?: unknown };
    // pino's error serializer gives a string message and a string or number code; whatever else
    // comes is shown as String() shows it, as before.
    // eslint-disable-next-line @typescript-eslint/no-base-to-string
    value = `${String(err.message ?? '')}${err.code !== undefined ? ` (${String(err.code)})` : ''}`;
  }
  const text =
    typeof value === 'string' ? (/^[^\s"=]+$/.test(value) ? value : JSON.stringify(value)) : JSON.stringify(value);
  return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS - 1)}…` : text;
}
