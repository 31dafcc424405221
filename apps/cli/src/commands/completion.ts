import { configKeys, DdmError } from '@ddm/core';
import { EXIT, type ExitCode } from '../exit-codes.ts';
import type { Output } from '../output.ts';

/** The commands, in help order (a test holds every one to having help with an example). */
export const COMMANDS = [
  'get',
  'add',
  'run',
  'serve',
  'status',
  'pause',
  'resume',
  'cancel',
  'remove',
  'clear',
  'limit',
  'move',
  'wait',
  'tui',
  'demo',
  'import-har',
  'refresh',
  'bench',
  'checksum',
  'config',
  'completion',
  'help',
];

/** Commands whose words are job ids: their completion asks `ddm __complete ids`. */
export const ID_COMMANDS = ['status', 'pause', 'resume', 'cancel', 'remove', 'limit', 'move', 'wait', 'refresh'];

export const CONFIG_ACTIONS = ['path', 'show', 'get', 'init', 'set'];

/** One command's flags as the help spells them (`-x`, `--connections`), from the CLI's own table. */
export interface CompletionCommand {
  name: string;
  flags: string[];
}

/**
 * `ddm completion bash|zsh|fish`: a completion script that completes the commands, each
 * command's own flags and the global ones (`commands`, read from the CLI's table so the two
 * never drift), job ids (by `ddm __complete ids`, one cheap DB read at completion time) and
 * config keys (from core's key table, fixed for this ddm version).
 * @throws DdmError ERR_USAGE for another shell.
 */
export async function completionCommand(
  out: Output,
  shell: string | undefined,
  commands: readonly CompletionCommand[],
  globalFlags: readonly string[],
): Promise<ExitCode> {
  const names = commands.map((c) => c.name).join(' ');
  const keys = configKeys()
    .map((k) => k.key)
    .join(' ');
  const flagsOf = (c: CompletionCommand) => [...c.flags, ...globalFlags].filter((f) => f.startsWith('--')).join(' ');
  const ids = ID_COMMANDS.join('|');
  switch (shell) {
    case 'bash':
      out.data(`# ddm completion for bash: source it, e.g. ddm completion bash > ~/.local/share/bash-completion/completions/ddm
_ddm() {
  local cur=\${COMP_WORDS[COMP_CWORD]} cmd=\${COMP_WORDS[1]} flags=""
  if [ "$COMP_CWORD" -eq 1 ]; then COMPREPLY=( $(compgen -W "${names}" -- "$cur") ); return; fi
  case "$cmd" in
${commands.map((c) => `    ${c.name}) flags="${flagsOf(c)}" ;;`).join('\n')}
  esac
  case "$cur" in -*) COMPREPLY=( $(compgen -W "$flags" -- "$cur") ); return ;; esac
  case "$cmd" in
    ${ids}) COMPREPLY=( $(compgen -W "$(ddm __complete ids 2>/dev/null)" -- "$cur") ) ;;
    config)
      if [ "$COMP_CWORD" -eq 2 ]; then COMPREPLY=( $(compgen -W "${CONFIG_ACTIONS.join(' ')}" -- "$cur") )
      elif [ "$COMP_CWORD" -eq 3 ] && [[ \${COMP_WORDS[2]} == @(get|set) ]]; then COMPREPLY=( $(compgen -W "${keys}" -- "$cur") ); fi ;;
    completion) COMPREPLY=( $(compgen -W "bash zsh fish" -- "$cur") ) ;;
    help) COMPREPLY=( $(compgen -W "${names}" -- "$cur") ) ;;
    *) COMPREPLY=( $(compgen -f -- "$cur") ) ;;
  esac
}
complete -F _ddm ddm`);
      return EXIT.ok;
    case 'zsh':
      out.data(`#compdef ddm
_ddm() {
  if (( CURRENT == 2 )); then compadd ${names}; return; fi
  if [[ $PREFIX == -* ]]; then
    case $words[2] in
${commands.map((c) => `      ${c.name}) compadd -- ${flagsOf(c)} ;;`).join('\n')}
    esac
    return
  fi
  case $words[2] in
    ${ids}) compadd -- \${(f)"$(ddm __complete ids 2>/dev/null)"} ;;
    config)
      if (( CURRENT == 3 )); then compadd ${CONFIG_ACTIONS.join(' ')}
      elif (( CURRENT == 4 )) && [[ $words[3] == (get|set) ]]; then compadd ${keys}; fi ;;
    completion) compadd bash zsh fish ;;
    help) compadd ${names} ;;
    *) _files ;;
  esac
}
compdef _ddm ddm`);
      return EXIT.ok;
    case 'fish': {
      const lines = [
        `complete -c ddm -f -n '__fish_use_subcommand' -a '${names}'`,
        `complete -c ddm -f -n '__fish_seen_subcommand_from ${ID_COMMANDS.join(' ')}' -a '(ddm __complete ids 2>/dev/null)'`,
        `complete -c ddm -f -n '__fish_seen_subcommand_from config; and not __fish_seen_subcommand_from ${CONFIG_ACTIONS.join(' ')}' -a '${CONFIG_ACTIONS.join(' ')}'`,
        `complete -c ddm -f -n '__fish_seen_subcommand_from config; and __fish_seen_subcommand_from get set' -a '${keys}'`,
        `complete -c ddm -f -n '__fish_seen_subcommand_from completion' -a 'bash zsh fish'`,
        `complete -c ddm -f -n '__fish_seen_subcommand_from help' -a '${names}'`,
        ...globalFlags.map((flag) => fishFlag(flag, null)),
        ...commands.flatMap((c) => c.flags.map((flag) => fishFlag(flag, c.name))),
      ];
      out.data(lines.join('\n'));
      return EXIT.ok;
    }
    default:
      throw new DdmError(`Unknown shell "${shell ?? ''}" (use bash, zsh or fish)`, { code: 'ERR_USAGE' });
  }
}

function fishFlag(flag: string, command: string | null): string {
  const condition = command === null ? '' : ` -n '__fish_seen_subcommand_from ${command}'`;
  const spec = flag.startsWith('--') ? `-l '${flag.slice(2)}'` : `-s '${flag.slice(1)}'`;
  return `complete -c ddm${condition} ${spec}`;
}
