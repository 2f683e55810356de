"""cynode cli: the command-line client for the cynode User API Gateway.

Usage:
  cynode cli [options] version
  cynode cli [options] status
  cynode cli [options] auth login [--handle=HANDLE | --user=HANDLE] [--password-stdin]
  cynode cli [options] auth logout
  cynode cli [options] auth whoami
  cynode cli [options] auth refresh
  cynode cli [options] task create [--prompt=TEXT] [--task=TEXT] [--task-file=PATH] [--script=PATH]
                       [--command=CMD]... [--commands-file=PATH] [--attach=PATH]... [--name=NAME] [--cred=NAME]...
                       [--result]
  cynode cli [options] task list [--status=STATUS] [--limit=N] [--cursor=CURSOR]
  cynode cli [options] task get <task>
  cynode cli [options] task cancel <task> [--yes]
  cynode cli [options] task result <task> [--wait]
  cynode cli [options] task watch <task> [--interval=DURATION] [--no-clear]
  cynode cli [options] task logs <task> [--stream=STREAM] [--follow]
  cynode cli [options] task artifacts list <task>
  cynode cli [options] task artifacts get <task> <artifact> --out=PATH [--force]
  cynode cli [options] chat [--message=TEXT] [--model=MODEL] [--plain]
  cynode cli [options] shell [--command=LINE]
  cynode cli [options] completion (bash | zsh)
  cynode cli [options] users create <handle> [--admin] [--password-stdin]
  cynode cli [options] users list [--limit=N] [--cursor=CURSOR]
  cynode cli [options] users disable <user>
  cynode cli [options] users enable <user>
  cynode cli [options] tokens create <name> [--expires-days=N]
  cynode cli [options] tokens list
  cynode cli [options] tokens revoke <token> [--yes]
  cynode cli [options] creds list [--provider=NAME] [--owner-type=TYPE] [--owner-id=ID] [--active=BOOL]
                       [--limit=N] [--cursor=CURSOR]
  cynode cli [options] creds get <credential>
  cynode cli [options] creds create --provider=NAME --name=NAME [--owner-type=TYPE] [--owner-id=ID]
                       [--secret-from-stdin | --secret-file=PATH]
  cynode cli [options] creds rotate <credential> [--secret-from-stdin | --secret-file=PATH]
  cynode cli [options] creds disable <credential> [--yes]
  cynode cli [options] prefs list --scope-type=TYPE [--scope-id=ID]
  cynode cli [options] prefs get --scope-type=TYPE [--scope-id=ID] --key=KEY
  cynode cli [options] prefs set --scope-type=TYPE [--scope-id=ID] --key=KEY [--value=JSON | --value-file=PATH]
                       [--reason=TEXT]
  cynode cli [options] prefs delete --scope-type=TYPE [--scope-id=ID] --key=KEY
  cynode cli [options] prefs effective [--task-id=ID | --project-id=ID]
  cynode cli [options] settings list [--limit=N] [--cursor=CURSOR]
  cynode cli [options] settings get --key=KEY
  cynode cli [options] settings set --key=KEY [--value=JSON | --value-file=PATH] [--reason=TEXT]
  cynode cli [options] settings delete --key=KEY
  cynode cli [options] nodes list [--limit=N] [--cursor=CURSOR]
  cynode cli [options] nodes get <node>
  cynode cli [options] nodes enable <node> [--yes]
  cynode cli [options] nodes disable <node> [--yes]
  cynode cli [options] nodes drain <node> [--yes]
  cynode cli [options] nodes refresh-config <node>
  cynode cli [options] nodes prefetch-image <node> <image>
  cynode cli [options] skills load <file> [--name=NAME] [--scope=SCOPE] [--scope-id=ID]
  cynode cli [options] skills list [--scope=SCOPE] [--owner=ID] [--limit=N] [--cursor=CURSOR]
  cynode cli [options] skills get <skill>
  cynode cli [options] skills update <skill> <file> [--name=NAME] [--scope=SCOPE] [--scope-id=ID]
  cynode cli [options] skills delete <skill> [--yes]
  cynode cli [options] audit list [--resource-type=TYPE] [--actor-id=ID] [--since=TIME] [--until=TIME]
                       [--limit=N] [--cursor=CURSOR]
  cynode cli [options] audit get <event>

Global options:
  -c FILE, --config=FILE  config file (default: $XDG_CONFIG_HOME/cynork/config.yaml or ~/.config/cynork/config.yaml)
  -o FMT, --output=FMT    output format, one of: table, json (default: table)
  -q, --quiet             suppress hints and progress messages
  --no-color              never use colour (also: a non-empty NO_COLOR)
  -h, --help              show help for a command

Command options:
  -u HANDLE, --handle=HANDLE  login handle (alias: --user); prompted for when missing
  --user=HANDLE           same as --handle
  --password-stdin        read the password from standard input
  --admin                 the new user is an administrator
  -p TEXT, --prompt=TEXT  task create: the task as text or Markdown, run by the model
  -t TEXT, --task=TEXT    same as --prompt
  -f PATH, --task-file=PATH  task create: the prompt from a UTF-8 file (at most 1 MiB)
  -s PATH, --script=PATH  task create: a script to run (at most 256 KiB)
  --command=CMD           task create: a shell command to run; repeat for several, run in order.
                          shell: the one command line to run (also -c after `shell`)
  --commands-file=PATH    task create: commands, one a line (at most 64 KiB)
  -a PATH, --attach=PATH  task create: a file for the job, under attachments/ (repeatable: 16 of 10 MiB)
  --name=NAME             task create: a name to use instead of the task id; creds create: the credential's
                          name; skills load, update: the skill's name
  --cred=NAME             task create: a credential of yours (name or id) the jobs get as CYNODE_CRED_<NAME>
                          (repeatable)
  --result                task create: wait for the task to end and print its result
  --status=STATUS         task list: only tasks in this status, one of: queued, running, completed, failed, canceled
  -l N, --limit=N         items per page, 1-200 (default: 50)
  --cursor=CURSOR         continue a listing from a previous next_cursor
  -y, --yes               task cancel, tokens revoke, creds disable, nodes enable/disable/drain, skills delete:
                          do not ask for confirmation
  -w, --wait              task result: wait until the task ends
  -n DURATION, --interval=DURATION  task watch: time between refreshes, e.g. 500ms, 2s, 1m30s (default: 2s, at least 1s)
  --no-clear              task watch: never clear the screen
  --stream=STREAM         task logs: which output, one of: stdout, stderr, all (default: all)
  -F, --follow            task logs: print new output as it comes until the task ends
  --out=PATH              task artifacts get: where to save the file
  --force                 task artifacts get: overwrite an existing file
  -m TEXT, --message=TEXT  chat: send one message, print the answer and exit
  --model=MODEL           chat: the model to ask (default: the gateway's)
  --plain                 chat: print answers as plain text
  --expires-days=N        tokens create: days until the API token expires, 1-365 (default: 90)
  --provider=NAME         creds: the service a credential is for, e.g. github or openai
  --owner-type=TYPE       creds: who owns a credential (default: user), one of: user, group
  --owner-id=ID           creds: the owner's id (default for a user credential: you)
  --active=BOOL           creds list: only active or only disabled credentials, one of: true, false
  --secret-from-stdin     creds create, rotate: read the secret from standard input
  --secret-file=PATH      creds create, rotate: read the secret from a file (else: asked for without echo)
  --scope-type=TYPE       prefs: the scope, one of: system, user, project, task
  --scope-id=ID           prefs: the scope's id (default for user: you); skills: the group or project id
  --key=KEY               prefs, settings: the key
  --value=JSON            prefs set, settings set: the value as JSON (a string needs quotes: '"concise"')
  --value-file=PATH       prefs set, settings set: read the JSON value from a UTF-8 file
  --reason=TEXT           prefs set, settings set: why, kept in the change history
  --task-id=ID            prefs effective: the preferences that apply to this task
  --project-id=ID         prefs effective: the preferences that apply to this project
  --scope=SCOPE           skills: who a skill is for (load default: user), one of: user, group, project, global
  --owner=ID              skills list: only skills of this owner
  --resource-type=TYPE    audit list: only events on this kind of resource, e.g. task, auth, credential
  --actor-id=ID           audit list: only events of this user
  --since=TIME            audit list: events at or after this RFC 3339 time, e.g. 2026-11-30T08:00:00Z
  --until=TIME            audit list: events before this RFC 3339 time

A task is named by its id or its name; an API token by its token_id; a node by its id or its name (e.g. local).
Environment: CYNORK_GATEWAY_URL (default http://localhost:8080), CYNORK_TOKEN (an access token or an API token).
Exit codes: 0 ok, 2 usage, 3 auth, 4 not found, 5 conflict, 6 validation, 7 gateway or network, 8 internal.
"""

import importlib
import sys

from cynode.cli.config import config_path, load
from cynode.cli.context import Context, Env
from cynode.cli.exits import CliError, ExitStatus, usage_error
from cynode.usage import unknown_flag

_GRAMMAR = None
COMPLETE = "__complete"  # hidden: the bash/zsh completion scripts ask for candidates (not in the usage text)


def grammar():
    """The grammar of the usage text above, parsed on first use."""
    global _GRAMMAR  # pylint: disable=global-statement  # parsed once per process, only when needed
    if _GRAMMAR is None:
        from cynode.cli.grammar import Grammar  # pylint: disable=import-outside-toplevel

        _GRAMMAR = Grammar(__doc__)
    return _GRAMMAR


def help_text(words: tuple = ()) -> str:
    """Usage lines for the command named by `words` (all when none match), the global options, then the command
    options those lines use (all of them for the whole usage)."""
    gram = grammar()
    prefix = " ".join(words)
    own = [line for line in gram.usage_lines
           if prefix and f" {line.split('[options]')[1].strip()} ".startswith(f" {prefix} ")]
    reference = gram.reference
    if own:
        flags = {flag for line in own for flag in gram.command_of(line)[1].flags}
        head, options = reference.split("Command options:\n")
        kept, keep = [], False
        for line in options.splitlines(keepends=True):
            if line.startswith("  -"):
                keep = gram.long_name(line.split()[0].rstrip(",").split("=")[0]) in flags
            elif not line.startswith("    "):
                keep = True  # the paragraphs after the options
            kept.append(line if keep else "")
        reference = head + ("Command options:\n" if flags else "") + "".join(kept).lstrip("\n")
    return "Usage:\n" + "\n".join(own or gram.usage_lines) + "\n\n" + reference


def _usage_failure(argv: list[str], message: str) -> CliError:
    gram = grammar()
    words = gram.words(argv)
    unknown = unknown_flag(__doc__, argv)
    if unknown:
        return usage_error(f"unknown flag: {unknown}")
    if "requires argument" in message:
        return usage_error(message.splitlines()[0])
    command = gram.command_for(words)
    if command:
        problem = _flag_problem(gram, command, argv)
        if problem:
            return usage_error(problem)
    groups = gram.groups
    group = next((" ".join(words[:n]) for n in range(len(words), 0, -1) if " ".join(words[:n]) in groups), None)
    if group and not command:
        after = words[len(group.split()):]
        return usage_error(f"'{group}' needs a subcommand" if not after else f"unknown command: {group} {after[0]}")
    if words and not command:
        return usage_error(f"unknown command: {words[0]}")
    return usage_error(f"invalid arguments for '{' '.join(words)}'" if words else "a command is required")


def _flag_problem(gram, command, argv: list[str]) -> str | None:
    """A flag that `command` does not take, or a required one missing."""
    given = {gram.long_name(arg.split("=")[0]) for arg in argv if arg.startswith("-") and arg != "-"}
    stray = sorted(flag for flag in given - gram.own_flags(command.path) if flag.startswith("--"))
    if stray:
        return f"{stray[0]} is not a flag of '{' '.join(command.path)}'"
    missing = [flag for flag, required in command.flags.items() if required and flag not in given]
    return f"{missing[0]} is required for '{' '.join(command.path)}'" if missing else None


def _shell_command_flag(argv: list[str]) -> list[str]:
    """After `shell`, `-c` is the shell's --command (design.md); before it, -c stays --config."""
    if "shell" not in argv or grammar().words(argv)[:1] != ("shell",):
        return argv
    at = argv.index("shell")
    return argv[:at] + [("--command" + arg[2:] if arg.startswith("-c") and not arg.startswith("--")
                         and len(arg) > 2 else "--command" if arg == "-c" else arg) for arg in argv[at:]]


def parse(argv: list[str]) -> dict:
    from docopt import DocoptExit, docopt  # pylint: disable=import-outside-toplevel

    argv = _shell_command_flag(argv)
    gram = grammar()
    lines = gram.lines_naming(arg for arg in argv if not arg.startswith("-"))
    try:
        args = dict(docopt(gram.usage_for(lines) if lines else __doc__, ["cli", *argv], default_help=False))
    except DocoptExit as exc:
        raise _usage_failure(argv, str(exc)) from None
    for name, flag in gram.flags.items():
        values = args.get(name) if isinstance(args.get(name), list) else [args.get(name)]
        bad = next((v for v in values if flag.choices and v is not None and v not in flag.choices), None)
        if bad is not None:
            *rest, last = flag.choices
            raise usage_error(f"{name[2:]} must be {', '.join(rest)} or {last}")
    return args


def _command(args: dict):
    gram = grammar()
    named = [word for word, value in args.items() if value is True and word[0] not in "-<"]
    command = max((command for _, command in map(gram.command_of, gram.lines_naming(named))
                   if all(args.get(word) for word in command.path)), key=lambda command: len(command.path))
    own = set(command.flags) | gram.global_flags
    stray = sorted(flag for flag, value in args.items() if flag.startswith("--") and value and flag not in own)
    if stray:
        raise usage_error(f"{stray[0]} is not a flag of '{' '.join(command.path)}'")
    module_name, function = command.target.split(":")
    return getattr(importlib.import_module(f"cynode.cli.commands.{module_name}"), function)


def _unparsed(argv: list[str], env: Env) -> int | None:
    """What is answered before docopt: the completion scripts' hidden `__complete`, and help."""
    if argv[:1] == [COMPLETE]:
        from cynode.cli.complete import complete_command  # pylint: disable=import-outside-toplevel

        return complete_command(grammar(), argv[1:], env)
    if any(arg in ("-h", "--help") for arg in argv[: argv.index("--") if "--" in argv else None]):
        env.stdout.write(help_text(grammar().words(argv)))
        return ExitStatus.OK
    return None


def run(argv: list[str], env: Env) -> int:
    """Run one command line; returns the exit status. Errors become one `Error: ...` line on stderr."""
    answered = _unparsed(argv, env)
    if answered is not None:
        return answered
    try:
        if not argv:
            env.stderr.write(help_text())
            return ExitStatus.USAGE
        args = parse(argv)
        command = _command(args)
        ctx = Context(args, env, load(config_path(args["--config"], env.environ), env.environ))
        return command(ctx) or ExitStatus.OK  # a command may hand back a code of its own (shell -c)
    except CliError as exc:
        env.stderr.write(f"Error: {exc.message}\n")
        if exc.status == ExitStatus.USAGE and "unknown command" in exc.message:
            env.stderr.write(help_text(grammar().words(argv)))
        return exc.status
    except KeyboardInterrupt:
        env.stderr.write("\n")
        return ExitStatus.INTERRUPTED
    except Exception as exc:  # pylint: disable=broad-exception-caught  # never a traceback for a user
        env.stderr.write(f"Error: internal error: {type(exc).__name__}: {exc}\n")
        return ExitStatus.INTERNAL


def main(argv: list[str]) -> int:
    return run(argv, Env())


def entry() -> None:
    """The `cynork` console script."""
    sys.exit(main(sys.argv[1:]))
