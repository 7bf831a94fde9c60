/**
 * The command line itself, through the real command and without a peer: --version, shell
 * completion, help, and what the commands say when no peer answers.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { runCommand } from '../support/run-command.ts';
import { tempDir } from '../support/temp.ts';

const exec = promisify(execFile);
const ZSH = '/usr/bin/zsh';

/** The completion script for `shell`, saved in a temporary file. */
async function completionScript(shell: 'bash' | 'zsh'): Promise<string> {
  const r = await runCommand(['completion', shell]);
  expect(r).toMatchObject({ code: 0, stderr: '' });
  const file = join(tempDir(), `peershare.${shell}`);
  writeFileSync(file, r.stdout);
  return file;
}

/** What bash's completion offers for the words typed so far (the last one partial). */
async function bashCompletes(script: string, words: string[]): Promise<string[]> {
  const line = `source ${script}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _peershare; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const { stdout } = await exec('bash', ['--norc', '--noprofile', '-c', line]);
  return stdout.split('\n').filter(Boolean);
}

/** The command names `peershare --help` lists: the two-space-indented words of its command lists. */
const helpCommands = (help: string): string[] => [...help.matchAll(/^ {2}([a-z]+) {2,}/gm)].map((m) => m[1]!);

const PACKAGE_VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

describe('peershare command line', () => {
  it('--version and -V print the package version and which code runs', async () => {
    const [long, short] = await Promise.all([runCommand(['--version']), runCommand(['-V'])]);
    for (const r of [long, short]) {
      expect(r).toMatchObject({ code: 0, stderr: '' });
      expect(r.stdout).toMatch(
        new RegExp(
          `^peershare ${PACKAGE_VERSION.replace(/\./g, '\\.')} \\((from the TypeScript sources|built [0-9-]+ [0-9:]+ UTC)\\)\\n$`,
        ),
      );
    }
  });

  it('completion bash: registers for peershare and completes commands, subcommands and flags from the table help uses', async () => {
    const script = await completionScript('bash');
    const { stdout } = await exec('bash', ['--norc', '--noprofile', '-c', `source ${script}; complete -p peershare`]);
    expect(stdout).toBe('complete -o default -F _peershare peershare\n');
    expect(await bashCompletes(script, ['peershare', 'dow'])).toEqual(['downloads']);
    expect(await bashCompletes(script, ['peershare', 'downloads', 'p'])).toEqual(['pause']);
    expect(await bashCompletes(script, ['peershare', 'service', 'f'])).toEqual(['files', 'fetch']);
    expect(await bashCompletes(script, ['peershare', 'get', '--w'])).toEqual(['--wait', '--want']);
    expect(await bashCompletes(script, ['peershare', 'search', '--w'])).toEqual(['--want']);
    expect(await bashCompletes(script, ['peershare', 'start', '--log-f'])).toEqual(['--log-format']);
    expect(await bashCompletes(script, ['peershare', '--ver'])).toEqual(['--version']);
    // A path to share completes as a file name (complete -o default), not as a command word.
    expect(await bashCompletes(script, ['peershare', 'share', 'x'])).toEqual([]);
    // No drift: the commands completed are the commands the help lists.
    const help = await runCommand(['--help']);
    expect((await bashCompletes(script, ['peershare', ''])).filter((w) => !w.startsWith('-')).sort()).toEqual(
      helpCommands(help.stdout).sort(),
    );
  });

  it.skipIf(!existsSync(ZSH))(
    'completion zsh: registers with compdef and offers commands, subcommands, flags, else files',
    async () => {
      const script = await completionScript('zsh');
      // Outside a real completion zsh lets these be set, and the builtins that offer words be stubbed to print them.
      const probe = `autoload -U compinit && compinit -u -D
source ${script}
print -r -- "registered: $_comps[peershare]"
compadd() { if [[ $1 == -a ]]; then print -r -- \${(P)2}; else shift; print -r -- "$@"; fi }
_describe() { print -r -- \${\${(P)4}%%:*} }
_files() { print -r -- '<files>' }
words=(peershare dow); CURRENT=2; PREFIX=dow; _peershare
words=(peershare downloads ''); CURRENT=3; PREFIX=''; _peershare
words=(peershare get --w); CURRENT=3; PREFIX=--w; _peershare
words=(peershare share ''); CURRENT=3; PREFIX=''; _peershare`;
      const { stdout } = await exec(ZSH, ['-f', '-c', probe]);
      const [registered, commands, subcommands, flags, files] = stdout.trimEnd().split('\n');
      expect(registered).toBe('registered: _peershare');
      expect(commands!.split(' ').sort()).toEqual(helpCommands((await runCommand(['--help'])).stdout).sort());
      expect(subcommands).toBe('pause resume cancel clear');
      expect(flags!.split(' ')).toEqual(
        expect.arrayContaining(['--name', '--out', '--wait', '--timeout', '--want', '--api', '--json', '--help']),
      );
      expect(files).toBe('<files>');
    },
  );

  it('completion with no shell, or another, is a usage error', async () => {
    for (const r of await Promise.all([runCommand(['completion']), runCommand(['completion', 'fish'])])) {
      expect(r).toMatchObject({
        code: 2,
        stdout: '',
        stderr: 'peershare: peershare completion needs one of: bash, zsh\n',
      });
    }
  });

  it('help: help COMMAND is COMMAND --help; start --help lines up every flag with its default and variable', async () => {
    const [viaHelp, viaFlag, start] = await Promise.all([
      runCommand(['help', 'get']),
      runCommand(['get', '--help']),
      runCommand(['start', '--help']),
    ]);
    expect(viaHelp).toMatchObject({ code: 0, stdout: viaFlag.stdout });
    expect(viaHelp.stdout).toMatch(/^Usage: peershare get ID/);
    expect(await runCommand(['help', 'frobnicate'])).toMatchObject({
      code: 2,
      stdout: '',
      stderr: 'peershare: unknown command "frobnicate"; try peershare --help\n',
    });
    // Piped, help is laid out for 80 columns: no line longer, however long a flag is.
    for (const line of start.stdout.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
    expect(start.stdout).toMatch(/^ {2}--fetch-verify-per-round VALUE\n {30}\S/m);
    expect(start.stdout).toMatch(/^ {2}--log-level VALUE +log level \(default: info\) \[PEERSHARE_LOG_LEVEL\]$/m);
    expect(start.stdout).toContain('Examples:');
  });
});
