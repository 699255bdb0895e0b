"""`meshctl completion bash|zsh|fish`: shell completion scripts generated from the command-line parser."""

from __future__ import annotations

import argparse

from .common import EXIT_OK, emit


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("completion", help="print a shell completion script",
                       epilog="example:\n  meshctl completion bash > ~/.local/share/bash-completion/completions/meshctl\n"
                              "  meshctl completion fish > ~/.config/fish/completions/meshctl.fish",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("shell", choices=("bash", "zsh", "fish"))
    p.set_defaults(func=run)


def command_table() -> dict[str, list[str]]:
    """sub-command -> its options (plugins included), from the live parser."""
    from .main import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    table: dict[str, list[str]] = {}
    for name, p in sub.choices.items():
        opts = [o for a in p._actions for o in a.option_strings if o.startswith("--")]
        nested = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
        if nested:
            opts = list(nested[0].choices) + opts
        table[name] = sorted(set(opts), key=opts.index)
    return table


def bash(table: dict[str, list[str]]) -> str:
    cases = "\n".join(f'    {name}) opts="{" ".join(opts)}" ;;' for name, opts in table.items())
    return f"""# bash completion for meshctl
_meshctl() {{
  local cur cmd opts
  cur="${{COMP_WORDS[COMP_CWORD]}}"
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "{' '.join(table)}" -- "$cur") ); return
  fi
  cmd="${{COMP_WORDS[1]}}"
  case "$cmd" in
{cases}
    *) opts="" ;;
  esac
  COMPREPLY=( $(compgen -W "$opts" -f -- "$cur") )
}}
complete -o filenames -F _meshctl meshctl
"""


def zsh(table: dict[str, list[str]]) -> str:
    return "#compdef meshctl\n# zsh completion for meshctl (uses bash completion compatibility)\n" \
           "autoload -U +X bashcompinit && bashcompinit\n" + bash(table)


def fish(table: dict[str, list[str]]) -> str:
    lines = ["# fish completion for meshctl", "complete -c meshctl -f"]
    names = " ".join(table)
    lines.append(f'complete -c meshctl -n "not __fish_seen_subcommand_from {names}" -a "{names}"')
    for name, opts in table.items():
        for o in opts:
            if o.startswith("--"):
                lines.append(f'complete -c meshctl -n "__fish_seen_subcommand_from {name}" -l {o[2:]}')
            else:
                lines.append(f'complete -c meshctl -n "__fish_seen_subcommand_from {name}" -a {o}')
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    table = command_table()
    emit({"bash": bash, "zsh": zsh, "fish": fish}[args.shell](table), "text")
    return EXIT_OK
