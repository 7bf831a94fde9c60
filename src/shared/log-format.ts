/**
 * The log formats a peer can be told to write (the log-format setting), apart from the logger
 * itself (logging.ts) so that reading the settings (config.ts) does not load pino: the
 * `peershare` commands that only talk to a running peer read the default ports from config.ts.
 */
export const LOG_FORMATS = ['auto', 'human', 'json'] as const;
export type LogFormatSetting = (typeof LOG_FORMATS)[number];
export type LogFormat = 'human' | 'json';

/** `auto` is human on a terminal and JSON anywhere else. */
export function resolveLogFormat(setting: LogFormatSetting, stream: { isTTY?: boolean } = process.stdout): LogFormat {
  return setting === 'auto' ? (stream.isTTY === true ? 'human' : 'json') : setting;
}
