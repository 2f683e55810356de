"""`shell`: command lines one after another in one process, or `shell -c LINE` for one (spec/cli.md §7.6).

Every line goes through main.run exactly as if typed after `cynode cli`, so it has the same flags, output, streams
and exit codes, and it reloads the config and token itself (in-shell `auth login` just works).
"""

from cynode.cli.complete import SHELL_BUILTINS, TaskCache, candidates, drop_program, fetch_task_words, silent_context
from cynode.cli.exits import ExitStatus

GLOBAL_DEFAULTS = ("--config", "--output", "--quiet", "--no-color")
SESSION_CHANGES = (("auth", "login"), ("auth", "logout"), ("auth", "refresh"))
LEAVE = (["exit"], ["quit"])
HELP_FLAGS = ("-h", "--help")
IDENTITY_TIMEOUT = 5.0


def shell(ctx):
    line = ctx.args["--command"]
    if isinstance(line, list):  # docopt makes it a list when `task create`'s line (which repeats it) took part
        line = line[0] if line else None
    session = Session(ctx)
    return session.one(line) if line is not None else session.loop()


def _grammar():
    from cynode.cli.main import grammar  # pylint: disable=import-outside-toplevel  # main imports this module

    return grammar()


def command_list(gram) -> str:
    """`help`: the top-level commands and their subcommands, from the grammar."""
    lines = ["Commands:"]
    for first in dict.fromkeys(path[0] for path in gram.commands):
        if first != "shell":
            lines.append(f"  {first:<12}{', '.join(gram.groups.get(first, []))}".rstrip())
    lines.append(f"Built-ins: {SHELL_BUILTINS[0]} [<command>...], {', '.join(SHELL_BUILTINS[1:])} (or Ctrl+D)")
    lines.append("Run 'help <command>' for its usage and flags.")
    return "\n".join(lines) + "\n"


class Session:
    """The shell's defaults (its own global flags), its prompt, and the running of one line."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.env = ctx.env
        self.gram = _grammar()
        self.defaults = {flag: ctx.args.get(flag) for flag in GLOBAL_DEFAULTS}
        self.prompt = ""
        self.tasks = TaskCache(lambda: fetch_task_words(self.defaults["--config"], self.env.environ))

    def argv(self, words: list[str]) -> list[str]:
        """The line's words after the shell's global flags, leaving out those the line sets itself."""
        given = set()
        for word in words:
            if word == "--":
                break
            if word.startswith("-"):
                given.add(self.gram.long_name(word.split("=")[0] if word.startswith("--") else word[:2]))
        prefix = []
        for flag, value in self.defaults.items():
            if value and flag not in given:
                prefix += [flag] if value is True else [flag, value]
        return prefix + words

    def split(self, line: str) -> list[str] | None:
        """The line's words without a leading program name; None (after an error line) for unbalanced quotes."""
        from shlex import split  # pylint: disable=import-outside-toplevel

        try:
            return drop_program(split(line))
        except ValueError as exc:
            self.env.stderr.write(f"Error: cannot read the line: {str(exc).lower()}\n")
            return None

    def execute(self, words: list[str]) -> int:
        from cynode.cli.main import run  # pylint: disable=import-outside-toplevel

        path = self.gram.words(words)
        if path[:1] == ("shell",) and not any(word in HELP_FLAGS for word in words):
            self.env.stderr.write("Error: nested shell is not supported\n")
            return ExitStatus.USAGE
        if words == ["help"]:
            self.env.stdout.write(command_list(self.gram))
            return ExitStatus.OK
        if words[:1] == ["help"]:
            words = [*words[1:], "--help"]
        return run(self.argv(words), self.env)

    def one(self, line: str) -> int:
        """`shell -c LINE`: no prompt, no identity request; the line's exit code is the shell's."""
        words = self.split(line)
        if words is None:
            return ExitStatus.USAGE
        return ExitStatus.OK if words in LEAVE else self.execute(words)

    # the interactive loop ---------------------------------------------------------------------------------------

    def refresh_prompt(self) -> None:
        """`cynode(<handle>@<gateway_url>)> ` when a token resolves and /v1/users/me answers, else without handle."""
        handle, url = None, self.ctx.config.gateway_url
        try:
            ctx = silent_context(self.defaults["--config"], self.env.environ)
            url = ctx.config.gateway_url
            ctx.token()  # no token: no request
            handle = ctx.gateway().json("GET", "/v1/users/me", timeout=IDENTITY_TIMEOUT).get("handle")
        except (Exception, KeyboardInterrupt):  # pylint: disable=broad-exception-caught  # the prompt never fails
            pass
        self.prompt = f"cynode({handle}@{url})> " if isinstance(handle, str) and handle else f"cynode({url})> "

    def loop(self) -> int:
        editor = self._editor()
        self.refresh_prompt()
        try:
            while True:
                try:
                    line = editor.read(self.prompt) if editor else self.env.ask(self.prompt)
                except KeyboardInterrupt:
                    self.env.stderr.write("\n")  # Ctrl+C at the prompt discards the line
                    continue
                except EOFError:
                    line = None
                    self.env.stderr.write("\n")
                if line is None:
                    return ExitStatus.OK
                if editor and line.strip():
                    editor.remember(line)
                words = self.split(line)
                if not words:
                    continue
                if words in LEAVE:
                    return ExitStatus.OK
                self.execute(words)  # its error line is enough: the shell goes on, and its own code stays 0
                if self.gram.words(words)[:2] in SESSION_CHANGES:
                    self.tasks.clear()
                    self.refresh_prompt()
        finally:
            if editor:
                problem = editor.close()
                if problem:
                    self.env.stderr.write(f"warning: shell history not saved: {problem}\n")

    def _editor(self):
        """readline when this process's own stdin is a terminal; else plain lines from stdin."""
        import sys  # pylint: disable=import-outside-toplevel

        if self.env.stdin is not sys.stdin or not self.env.stdin_is_tty():
            return None
        from cynode.cli.lineeditor import Editor, history_path  # pylint: disable=import-outside-toplevel

        def complete(words: list[str], current: str) -> list[str]:
            return candidates(self.gram, words, current, self.tasks, in_shell=True)

        return Editor(complete, self.gram, history_path(self.ctx.config.path))
