/**
 * `peershare start`'s logs on stdout, through the real command: JSON lines on a pipe, human lines
 * on a terminal or with --log-format human, and never the two mixed in one run.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { humanLine } from '../../src/shared/logging.ts';
import { nextLoopback } from '../support/loopback.ts';
import { BIN } from '../support/run-command.ts';
import { perTest } from '../support/teardown.ts';
import { tempDir } from '../support/temp.ts';

/** The last service to come up logs this; every service's line is out by then. */
const LAST_LINE = 'client service listening';
const HUMAN = /^\d\d:\d\d:\d\d\.\d{3} (TRACE|DEBUG|INFO |WARN |ERROR|FATAL) \S+ +\S.*$/;

/**
 * Run `peershare start` (on a pseudo-terminal of its own with `onTerminal`, through util-linux
 * `script`) until its logs show every service up; then stop it with SIGTERM and return what it
 * wrote to stdout (on a terminal, stdout and stderr together).
 */
async function startLogs(flags: string[], onTerminal = false): Promise<string> {
  const args = [
    BIN,
    'start',
    '--host',
    nextLoopback(),
    '--data',
    join(tempDir(), 'data'),
    '--log-level',
    'info',
    ...flags,
  ];
  const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
  const child = onTerminal
    ? spawn(
        'script',
        ['--quiet', '--return', '--command', `exec ${[process.execPath, ...args].map(quote).join(' ')}`, '/dev/null'],
        { stdio: ['pipe', 'pipe', 'ignore'] },
      )
    : spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'] });
  const exited = once(child, 'exit');
  perTest(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  let stdout = '';
  child.stdout.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
      if (stdout.includes(LAST_LINE)) resolve();
    });
    child.once('exit', (code) =>
      reject(new Error(`peershare start exited (${code}) before it logged "${LAST_LINE}":\n${stdout}`)),
    );
  });
  // `script` passes the signal on to the command (exec'd in its shell).
  child.kill('SIGTERM');
  await exited;
  return stdout;
}

describe('peershare start logs', () => {
  it('writes JSON lines (pino) when stdout is a pipe', async () => {
    const lines = (await startLogs([])).trimEnd().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(5);
    for (const line of lines)
      expect(JSON.parse(line)).toMatchObject({
        level: expect.any(Number),
        time: expect.any(Number),
        msg: expect.any(String),
      });
    expect(lines.map((l) => (JSON.parse(l) as { service?: string }).service)).toEqual(
      expect.arrayContaining(['files', 'fetch', 'search', 'download', 'client']),
    );
  });

  it('writes one human line per record with --log-format human, and on a terminal by itself', async () => {
    const [asked, terminal] = await Promise.all([startLogs(['--log-format', 'human']), startLogs([], true)]);
    const askedLines = asked.trimEnd().split('\n');
    expect(askedLines.length).toBeGreaterThanOrEqual(5);
    for (const line of askedLines) expect(line).toMatch(HUMAN);
    expect(asked).toMatch(/^\S+ INFO  client +client service listening {2}url=http:\/\/127\.[\d.]+:7870$/m);
    // On the terminal the banner (stderr) shares the screen; the log lines are human, none JSON.
    const logLines = terminal.split(/\r?\n/).filter((l) => /^\d\d:\d\d/.test(l) || l.startsWith('{'));
    expect(logLines.length).toBeGreaterThanOrEqual(5);
    for (const line of logLines) expect(line.replace(/\x1b\[\d+m/g, '')).toMatch(HUMAN);
  });

  it('formats a record: fields as key=value, strings with spaces quoted, an error by its message and code', () => {
    const record = {
      level: 50,
      time: new Date(2026, 0, 2, 3, 4, 5, 6).getTime(),
      pid: 1,
      peerId: 'x'.repeat(52),
      service: 'fetch',
      msg: 'sync failed',
      peer: '127.0.0.3:7874',
      note: 'two words',
      err: { type: 'Error', message: 'no route', code: 'EHOSTUNREACH', stack: 'Error: no route\n    at ...' },
    };
    expect(humanLine(JSON.stringify(record))).toBe(
      '03:04:05.006 ERROR fetch     sync failed  peer=127.0.0.3:7874 note="two words" err="no route (EHOSTUNREACH)"\n',
    );
    expect(
      humanLine(JSON.stringify({ ...record, level: 30, err: undefined }), { showPeer: true, colour: false }),
    ).toMatch(/^03:04:05\.006 INFO  xxxxxxxxxxxx fetch {4}/);
  });
});
