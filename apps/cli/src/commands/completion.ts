import { DdmError } from '@ddm/core';
import { EXIT, type ExitCode } from '../exit-codes.ts';
import type { Output } from '../output.ts';

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
  'bench',
  'import-har',
  'refresh',
  'checksum',
  'config',
  'completion',
];

/** Flags offered after a `-` (the per-job, list, TLS and request flags). */
export const FLAGS = [
  '--dir',
  '--output',
  '--connections',
  '--header',
  '--checksum',
  '--limit',
  '--priority',
  '--overwrite',
  '--continue',
  '--input-file',
  '--cacert',
  '--capath',
  '--insecure',
  '--max-tries',
  '--timeout',
  '--user-agent',
  '--proxy',
  '--netrc-file',
  '--json',
  '--quiet',
  '--verbose',
];

/** `ddm completion bash|zsh|fish`: prints a completion script for the shell. */
export async function completionCommand(out: Output, shell: string | undefined): Promise<ExitCode> {
  const words = COMMANDS.join(' ');
  const flags = FLAGS.join(' ');
  switch (shell) {
    case 'bash':
      out.data(`_ddm() {
  local cur=\${COMP_WORDS[COMP_CWORD]}
  if [ "$COMP_CWORD" -eq 1 ]; then COMPREPLY=( $(compgen -W "${words}" -- "$cur") ); return; fi
  case "$cur" in -*) COMPREPLY=( $(compgen -W "${flags}" -- "$cur") ); return ;; esac
  case "\${COMP_WORDS[1]}" in
    config) COMPREPLY=( $(compgen -W "path show init set" -- "$cur") ) ;;
    completion) COMPREPLY=( $(compgen -W "bash zsh fish" -- "$cur") ) ;;
    *) COMPREPLY=( $(compgen -f -- "$cur") ) ;;
  esac
}
complete -F _ddm ddm`);
      return EXIT.ok;
    case 'zsh':
      out.data(`#compdef ddm
_ddm() {
  if (( CURRENT == 2 )); then compadd ${words}; return; fi
  if [[ $PREFIX == -* ]]; then compadd -- ${flags}; return; fi
  case $words[2] in
    config) compadd path show init set ;;
    completion) compadd bash zsh fish ;;
    *) _files ;;
  esac
}
compdef _ddm ddm`);
      return EXIT.ok;
    case 'fish':
      out.data(
        [
          `complete -c ddm -f -n '__fish_use_subcommand' -a '${words}'`,
          `complete -c ddm -f -n '__fish_seen_subcommand_from config' -a 'path show init set'`,
          `complete -c ddm -f -n '__fish_seen_subcommand_from completion' -a 'bash zsh fish'`,
          ...FLAGS.map((flag) => `complete -c ddm -l '${flag.slice(2)}'`),
        ].join('\n'),
      );
      return EXIT.ok;
    default:
      throw new DdmError(`Unknown shell "${shell ?? ''}" (use bash, zsh or fish)`, { code: 'ERR_USAGE' });
  }
}
