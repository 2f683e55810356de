"""The one completion engine: the shell's tab completion and the bash/zsh scripts (through the hidden
`__complete` command) all ask `candidates()`, which reads the grammar of the usage text and nothing else.

Candidates are whole words (`--output=json` for a current word `--output=j`); each front end inserts them its
own way. Completion never shows secrets: only command words, flags, documented values, task names and ids.
"""

import io
import time

from cynode.cli.exits import ExitStatus

SHELL_BUILTINS = ("help", "exit", "quit")
PROGRAM_PREFIXES = (("cynode", "cli"), ("cynork",))
TASK_ARGUMENT = "<task>"
TASK_LIMIT = 200
FETCH_TIMEOUT = 2.0  # a person is waiting at the Tab key; a slow gateway gives no candidates instead
CACHE_SECONDS = 30.0


def drop_program(words: list[str]) -> list[str]:
    """A line may start with the program's own name (`cynode cli task list`, `cynork task list`)."""
    for prefix in PROGRAM_PREFIXES:
        if tuple(words[:len(prefix)]) == prefix:
            return words[len(prefix):]
    return words


def candidates(gram, words: list[str], current: str, tasks=list, in_shell: bool = False) -> list[str]:
    """What may replace `current`, the word under the cursor, after the complete `words` (no program name), in
    the grammar `gram`.

    `tasks()` gives task names then ids, asked only at a task position. In the shell the first word may also be
    a built-in, and `shell` itself is left out (a nested shell is refused).
    """
    if in_shell and words[:1] == ["help"]:
        words, in_shell = words[1:], False  # `help <command...>` completes like the command itself
    if current.startswith("-") and "=" in current:
        flag, _, value = current.partition("=")
        return [f"{flag}={choice}" for choice in _values(gram, flag) if choice.startswith(value)]
    if words and gram.awaits_value(words[-1]):
        return [choice for choice in _values(gram, words[-1]) if choice.startswith(current)]
    path = gram.words(words)
    command = gram.command_for(path)  # the longest known prefix: the words after it are its arguments
    if current.startswith("-"):
        flags = gram.own_flags(command.path) if command else gram.global_flags
        spellings = [s for name in sorted(flags) for s in gram.flags[name].spellings]
        return [s for s in spellings if s.startswith(current)]
    return [word for word in _positional(gram, path, command, tasks, in_shell) if word.startswith(current)]


def _values(gram, spelling: str) -> tuple:
    flag = gram.flag(spelling)
    return flag.choices if flag else ()


def _positional(gram, path: tuple, command, tasks, in_shell: bool) -> list[str]:
    """Command words, a group's subcommands, a command's literal words, or task names at a `<task>` position."""
    if not path:
        firsts = list(dict.fromkeys(p[0] for p in gram.commands))
        return [*(w for w in firsts if w != "shell"), *SHELL_BUILTINS] if in_shell else firsts
    group = " ".join(path)
    if group in gram.groups and path not in gram.commands:
        return list(gram.groups[group])
    if command is None:
        return []
    given = path[len(command.path):]
    if command.words and not given:
        return list(command.words)
    position = len(given) - (1 if command.words else 0)
    if position < len(command.arguments) and command.arguments[position] == TASK_ARGUMENT:
        return tasks()
    return []


# --- task names from the gateway -------------------------------------------------------------------------------


def silent_context(config_flag: str | None, environ: dict):
    """A Context for requests made on the user's behalf between commands: nothing it says reaches the terminal
    (a credential helper's warning must not scribble over the line being typed). Raises on a bad config."""
    from cynode.cli.config import config_path, load  # pylint: disable=import-outside-toplevel
    from cynode.cli.context import Context, Env  # pylint: disable=import-outside-toplevel

    sink = io.StringIO()
    cfg = load(config_path(config_flag, environ), environ)
    return Context({}, Env(stdin=io.StringIO(), stdout=sink, stderr=sink, environ=environ), cfg)


def fetch_task_words(config_flag: str | None, environ: dict) -> list[str]:
    """Task names, then task ids, of the caller's latest tasks; [] on any failure (completion stays silent)."""
    try:
        ctx = silent_context(config_flag, environ)
        data = ctx.gateway().json("GET", "/v1/tasks", query={"limit": TASK_LIMIT}, timeout=FETCH_TIMEOUT)
    except Exception:  # pylint: disable=broad-exception-caught  # no token, no gateway, bad config: no candidates
        return []
    items = data.get("tasks") if isinstance(data, dict) else data
    items = [item for item in items or [] if isinstance(item, dict)]
    names = [item.get("task_name") for item in items]
    ids = [item.get("task_id") or item.get("id") for item in items]
    return list(dict.fromkeys(w for w in [*names, *ids] if isinstance(w, str) and w and not w.isspace()))


class TaskCache:
    """The shell asks the gateway at most once per CACHE_SECONDS, whatever the number of Tab presses."""

    def __init__(self, fetch):
        self.fetch = fetch
        self.words: list[str] = []
        self.at: float | None = None

    def __call__(self) -> list[str]:
        if self.at is None or time.monotonic() - self.at > CACHE_SECONDS:
            self.words, self.at = self.fetch(), time.monotonic()
        return self.words

    def clear(self) -> None:
        self.at = None


# --- the hidden command the bash and zsh scripts call ---------------------------------------------------------


def merge_split_values(words: list[str]) -> list[str]:
    """bash splits `--output=js` into `--output`, `=`, `js`; join such pieces back into one word."""
    merged: list[str] = []
    joining = False
    for word in words:
        if word == "=" and merged and merged[-1].startswith("-") and "=" not in merged[-1]:
            merged[-1] += "="
            joining = True
        elif joining:
            merged[-1] += word
            joining = False
        else:
            merged.append(word)
    return merged


def complete_command(gram, argv: list[str], env) -> int:
    """`__complete PROGRAM WORD... CURRENT`: one candidate a line on stdout; never an error, always exit 0."""
    *before, current = merge_split_values(argv[1:] or [""])  # `--output` `=` (cursor after =) -> `--output=`
    before = before[1:] if before[:1] == ["cli"] else before
    config_flag = _config_flag(before)
    for word in candidates(gram, before, current, lambda: fetch_task_words(config_flag, env.environ)):
        env.stdout.write(word + "\n")
    return ExitStatus.OK


def _config_flag(words: list[str]) -> str | None:
    """The --config the line names (before `shell`, `-c` is --config too), for the task lookup."""
    for at, word in enumerate(words):
        if word == "shell":
            break
        if word in ("-c", "--config") and at + 1 < len(words):
            return words[at + 1]
        if word.startswith("--config="):
            return word.split("=", 1)[1]
    return None
