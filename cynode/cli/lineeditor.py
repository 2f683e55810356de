"""The shell's line editor on a terminal: stdlib readline with tab completion and a private history file.

Imported only by the shell, and only when stdin is a terminal (readline costs start-up time and wants a tty).
"""

import os
import shlex
import sys

from cynode.cli.complete import drop_program

HISTORY_FILE = "shell_history"
HISTORY_LIMIT = 1000
PRIVATE_WORDS = ("password", "secret", "token")
PRIVATE_COMMANDS = (("auth", "login"), ("creds", "create"), ("creds", "rotate"))


def split_line(line: str) -> list[str]:
    """Words of a possibly unfinished line: an open quote must not stop completion or the privacy check."""
    try:
        return shlex.split(line)
    except ValueError:
        return line.split()


def is_private(line: str, gram) -> bool:
    """Lines that never reach the history (spec/cli.md §7.6): they may carry or lead to a secret."""
    if any(word in line.lower() for word in PRIVATE_WORDS):
        return True
    path = gram.words(drop_program(split_line(line)))
    return any(path[:len(command)] == command for command in PRIVATE_COMMANDS)


def history_path(config_file: str | None) -> str | None:
    """`shell_history` beside the config file; None when no config path resolves (history stays in memory)."""
    return os.path.join(os.path.dirname(os.path.abspath(config_file)), HISTORY_FILE) if config_file else None


def load_history(path: str | None, gram) -> list[str]:
    """The saved lines, private ones dropped; a file readable by others is made 0600 first."""
    if not path or not os.path.isfile(path):
        return []
    try:
        if os.stat(path).st_mode & 0o077:
            os.chmod(path, 0o600)
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return []
    return [line for line in lines if line.strip() and not is_private(line, gram)][-HISTORY_LIMIT:]


def save_history(path: str | None, lines: list[str], gram) -> str | None:
    """Write the last HISTORY_LIMIT lines, created (or kept) mode 0600; the reason when it could not be written."""
    if not path:
        return None
    from cynode.cli.config import make_private_dirs  # pylint: disable=import-outside-toplevel

    kept = [line for line in lines if not is_private(line, gram)][-HISTORY_LIMIT:]
    try:
        make_private_dirs(os.path.dirname(path))
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # an older file keeps its mode through O_TRUNC
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write("".join(line + "\n" for line in kept))
    except OSError as exc:
        return f"{exc.strerror or exc}: {path}"
    return None


class Editor:
    """readline on the process's own terminal. `complete(words, current)` gives the candidates for Tab."""

    def __init__(self, complete, gram, history_file: str | None):
        import readline  # pylint: disable=import-outside-toplevel  # only a shell on a terminal needs it

        self.readline = readline
        self.complete = complete
        self.gram = gram
        self.history_file = history_file
        self.matches: list[str] = []
        readline.set_auto_history(False)  # lines are added by remember(), after the privacy check
        readline.set_completer_delims(" \t\n")  # `--output=j` stays one word: candidates are whole words
        readline.set_completer(self._complete)
        libedit = "libedit" in (readline.__doc__ or "")
        readline.parse_and_bind("bind ^I rl_complete" if libedit else "tab: complete")
        readline.clear_history()
        for line in load_history(history_file, gram):
            readline.add_history(line)

    def _complete(self, text: str, state: int) -> str | None:
        if state == 0:
            before = self.readline.get_line_buffer()[:self.readline.get_begidx()]
            # Python's readline module turns off readline's own space after a unique match: add it here
            self.matches = [shlex.quote(word) + " " for word in self.complete(drop_program(split_line(before)), text)]
        return self.matches[state] if state < len(self.matches) else None

    def read(self, prompt: str) -> str:
        """One line; raises EOFError and KeyboardInterrupt like input().

        readline writes the prompt and the echo to file descriptor 1, so stderr stands in for it while a line is
        read: prompts belong on stderr (spec/cli.md §2.1) and stdout may be a file or a pipe.
        """
        sys.stdout.flush()
        sys.stderr.flush()
        saved = os.dup(1)
        os.dup2(2, 1)
        try:
            return input(prompt)
        finally:
            os.dup2(saved, 1)
            os.close(saved)

    def remember(self, line: str) -> None:
        if not is_private(line, self.gram):
            self.readline.add_history(line)

    def close(self) -> str | None:
        """Save the history; the reason when it could not be saved."""
        history = self.readline
        lines = [history.get_history_item(i) for i in range(1, history.get_current_history_length() + 1)]
        return save_history(self.history_file, [line for line in lines if line], self.gram)
