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
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...inherited, ...env }, ...(cwd ? { cwd } : {}) });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}
