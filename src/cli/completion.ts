/**
 * `peershare completion bash|zsh`: a completion script for the shell, generated from the command
 * table (command-table.ts): the commands, then each command's flags and subcommands; anything
 * else completes as a file name (paths to share, --out, --data).
 */
import { GLOBAL_FLAGS, type TableEntry } from './command-table.ts';

/** A word list inside single quotes, safe for both shells. */
const quoted = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;

export function bashCompletion(table: readonly TableEntry[]): string {
  const cases = table
    .map((e) => `    ${e.name}) flags=${quoted(e.flags.join(' '))}; subcommands=${quoted(e.subcommands.join(' '))} ;;`)
    .join('\n');
  return `# peershare completion for bash. Load it with: source <(peershare completion bash)
# or save it as ~/.local/share/bash-completion/completions/peershare
_peershare() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" flags="" subcommands=""
  if [[ $COMP_CWORD -eq 1 ]]; then
    COMPREPLY=($(compgen -W ${quoted([...table.map((e) => e.name), ...GLOBAL_FLAGS].join(' '))} -- "$cur"))
    return
  fi
  case "\${COMP_WORDS[1]}" in
${cases}
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$flags" -- "$cur"))
  elif [[ $COMP_CWORD -eq 2 && -n $subcommands ]]; then
    COMPREPLY=($(compgen -W "$subcommands" -- "$cur"))
  else
    COMPREPLY=()  # file names (complete -o default)
  fi
}
complete -o default -F _peershare peershare
`;
}

export function zshCompletion(table: readonly TableEntry[]): string {
  // _describe splits "name:description" at the first unescaped colon.
  const commands = table.map((e) => `    ${quoted(`${e.name}:${e.summary.replace(/:/g, '\\:')}`)}`).join('\n');
  const cases = table
    .map(
      (e) =>
        `    ${e.name}) flags=(${e.flags.map(quoted).join(' ')}); subcommands=(${e.subcommands.map(quoted).join(' ')}) ;;`,
    )
    .join('\n');
  return `#compdef peershare
# peershare completion for zsh. Load it (after compinit) with: source <(peershare completion zsh)
# or save it as _peershare in a folder of $fpath
_peershare() {
  local -a commands flags subcommands
  if (( CURRENT == 2 )); then
    commands=(
${commands}
    )
    if [[ $PREFIX == -* ]]; then
      compadd -- ${GLOBAL_FLAGS.map(quoted).join(' ')}
    else
      _describe -t commands 'peershare command' commands
    fi
    return
  fi
  case $words[2] in
${cases}
  esac
  if [[ $PREFIX == -* ]]; then
    compadd -a flags
  elif (( CURRENT == 3 && $#subcommands )); then
    compadd -a subcommands
  else
    _files
  fi
}
if [[ $funcstack[1] == _peershare ]]; then
  _peershare "$@"
else
  compdef _peershare peershare
fi
`;
}
