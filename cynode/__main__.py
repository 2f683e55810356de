"""Entry point: `cynode serve | cli ... | version`. The only place that calls sys.exit."""

import sys

USAGE = """Usage:
  cynode serve [options]     run the User API Gateway (see: cynode serve --help)
  cynode worker [options]    run jobs for the gateways of one PostgreSQL database (see: cynode worker --help)
  cynode cli [ARGS...]       the command-line client (see: cynode cli --help)
  cynode version             print the version
"""


def main(argv: list[str]) -> int:
    command, rest = (argv[0], argv[1:]) if argv else ("", [])
    if command == "cli":
        from cynode.cli.main import main as cli_main  # pylint: disable=import-outside-toplevel

        return cli_main(rest)
    if command == "serve":
        from cynode.server.serve import main as serve_main  # pylint: disable=import-outside-toplevel

        return serve_main(rest)
    if command == "worker":
        from cynode.worker import main as worker_main  # pylint: disable=import-outside-toplevel

        return worker_main(rest)
    if command == "version":
        from cynode import __version__  # pylint: disable=import-outside-toplevel

        print(__version__)
        return 0
    if command in ("-h", "--help"):
        print(USAGE, end="")
        return 0
    print(("Error: unknown command " + repr(command) + "\n" if command else "") + USAGE, end="", file=sys.stderr)
    return 2


def entry() -> None:
    sys.exit(main(sys.argv[1:]))


if __name__ == "__main__":
    entry()
