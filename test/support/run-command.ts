/** Run the real `peershare` command (bin/peershare.js) as a child process and collect its output. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

export const BIN = join(import.meta.dirname, '../../bin/peershare.js');

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCommand(args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    // PEERSHARE_API from the outer environment must not redirect a test's commands.
    const { PEERSHARE_API: _ignored, ...inherited } = process.env;
    const child = spawn(process.execPath, [BIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...inherited, ...env },
      ...(cwd ? { cwd } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * Run the command on a terminal of its own (util-linux `script` gives it a pseudo-terminal), as a
 * person at a shell runs it: stdout and stderr arrive together, as the terminal shows them.
 */
export function runOnTerminal(args: string[]): Promise<{ code: number | null; output: string }> {
  const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
  const line = [process.execPath, BIN, ...args].map(quote).join(' ');
  return new Promise((resolve, reject) => {
    const { PEERSHARE_API: _ignored, ...env } = process.env;
    const child = spawn('script', ['--quiet', '--return', '--command', line, '/dev/null'], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env,
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (output += c));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}
