"""cynode cli: the command-line client for the cynode User API Gateway.

Usage:
  cynode cli [options] version
  cynode cli [options] status
  cynode cli [options] auth login [--handle=HANDLE] [--password-stdin]
  cynode cli [options] auth logout
  cynode cli [options] auth whoami
  cynode cli [options] auth refresh
  cynode cli [options] users create <handle> [--admin] [--password-stdin]
  cynode cli [options] users list [--limit=N] [--cursor=CURSOR]
  cynode cli [options] users disable <user>
  cynode cli [options] users enable <user>

Global options:
  -c FILE, --config=FILE  config file (default: $XDG_CONFIG_HOME/cynork/config.yaml or ~/.config/cynork/config.yaml)
  -o FMT, --output=FMT    output format: table or json (default: table)
  -q, --quiet             suppress hints and progress messages
  --no-color              never use colour
  -h, --help              show help for a command

Command options:
  -u HANDLE, --handle=HANDLE  login handle (alias: --user); prompted for when missing
  --user=HANDLE           same as --handle
  --password-stdin        read the password from standard input
  --admin                 the new user is an administrator
  -l N, --limit=N         items per page, 1-200 (default: 50)
  --cursor=CURSOR         continue a listing from a previous next_cursor

Environment: CYNORK_GATEWAY_URL (default http://localhost:8080), CYNORK_TOKEN.
Exit codes: 0 ok, 2 usage, 3 auth, 4 not found, 5 conflict, 6 validation, 7 gateway or network, 8 internal.
"""

import importlib
import sys

from cynode.cli.config import config_path, load
from cynode.cli.context import Context, Env
from cynode.cli.exits import CliError, ExitStatus, usage_error
from cynode.usage import unknown_flag

GLOBAL_FLAGS = {"--config", "--output", "--quiet", "--no-color", "--help"}

# command words -> ("module:function" under cynode.cli.commands, the command's own flags)
COMMANDS = {
    ("version",): ("system:version", set()),
    ("status",): ("system:status", set()),
    ("auth", "login"): ("auth:login", {"--handle", "--user", "--password-stdin"}),
    ("auth", "logout"): ("auth:logout", set()),
    ("auth", "whoami"): ("auth:whoami", set()),
    ("auth", "refresh"): ("auth:refresh", set()),
    ("users", "create"): ("users:create", {"--admin", "--password-stdin"}),
    ("users", "list"): ("users:list_", {"--limit", "--cursor"}),
    ("users", "disable"): ("users:disable", set()),
    ("users", "enable"): ("users:enable", set()),
}


def _usage_lines(words: tuple = ()) -> list[str]:
    lines = [line for line in __doc__.split("Usage:")[1].split("\n\n")[0].splitlines() if line.strip()]
    prefix = " ".join(words)
    return [line for line in lines if line.split("[options]")[1].strip().startswith(prefix)]


def help_text(words: tuple = ()) -> str:
    """Usage lines for the command named by `words` (all when none match), then the option reference."""
    lines = _usage_lines(words) or _usage_lines()
    return "Usage:\n" + "\n".join(lines) + "\n\n" + __doc__.split("Usage:")[1].split("\n\n", 1)[1]


def _words(argv: list[str]) -> tuple:
    """The leading command words of argv, skipping flags and their values."""
    takes_value = {"-c", "--config", "-o", "--output", "-u", "--handle", "--user", "-l", "--limit", "--cursor"}
    words, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg.startswith("-"):
            skip = arg in takes_value
        else:
            words.append(arg)
    return tuple(words)


def _usage_failure(argv: list[str], message: str) -> CliError:
    words = _words(argv)
    unknown = unknown_flag(__doc__, argv)
    if unknown:
        return usage_error(f"unknown flag: {unknown}")
    if "requires argument" in message:
        return usage_error(message.splitlines()[0])
    path = words[:2] if words[:2] in COMMANDS else words[:1]
    if path in COMMANDS:
        own = COMMANDS[path][1] | GLOBAL_FLAGS
        stray = [arg.split("=")[0] for arg in argv if arg.startswith("--") and arg.split("=")[0] not in own]
        if stray:
            return usage_error(f"{stray[0]} is not a flag of '{' '.join(path)}'")
    groups = {path[0] for path in COMMANDS if len(path) > 1}
    if words and words[0] in groups and (len(words) == 1 or words[:2] not in COMMANDS):
        detail = f"'{words[0]}' needs a subcommand" if len(words) == 1 else f"unknown command: {' '.join(words[:2])}"
        return usage_error(detail)
    if words and (words[0],) not in COMMANDS and words[0] not in groups:
        return usage_error(f"unknown command: {words[0]}")
    return usage_error(f"invalid arguments for '{' '.join(words)}'" if words else "a command is required")


def parse(argv: list[str]) -> dict:
    from docopt import DocoptExit, docopt  # pylint: disable=import-outside-toplevel

    try:
        args = dict(docopt(__doc__, ["cli", *argv], default_help=False))
    except DocoptExit as exc:
        raise _usage_failure(argv, str(exc)) from None
    if (args["--output"] or "table") not in ("table", "json"):
        raise usage_error("output must be table or json")
    return args


def _command(args: dict):
    path = next(path for path in COMMANDS if all(args.get(word) for word in path) and len(path) == max(
        len(p) for p in COMMANDS if all(args.get(w) for w in p)))
    target, own_flags = COMMANDS[path]
    stray = sorted(flag for flag, value in args.items()
                   if flag.startswith("--") and value and flag not in GLOBAL_FLAGS | own_flags)
    if stray:
        raise usage_error(f"{stray[0]} is not a flag of '{' '.join(path)}'")
    module_name, function = target.split(":")
    return getattr(importlib.import_module(f"cynode.cli.commands.{module_name}"), function)


def run(argv: list[str], env: Env) -> int:
    """Run one command line; returns the exit status. Errors become one `Error: ...` line on stderr."""
    if any(arg in ("-h", "--help") for arg in argv[: argv.index("--") if "--" in argv else None]):
        env.stdout.write(help_text(_words(argv)))
        return ExitStatus.OK
    try:
        if not argv:
            env.stderr.write(help_text())
            return ExitStatus.USAGE
        args = parse(argv)
        command = _command(args)
        ctx = Context(args, env, load(config_path(args["--config"], env.environ), env.environ))
        command(ctx)
        return ExitStatus.OK
    except CliError as exc:
        env.stderr.write(f"Error: {exc.message}\n")
        if exc.status == ExitStatus.USAGE and "unknown command" in exc.message:
            env.stderr.write(help_text(_words(argv)))
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
