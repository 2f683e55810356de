"""The CLI's grammar, read from the docopt usage text (the one reference): commands, their flags and arguments,
which flags take a value, short/long spellings and the values a flag accepts. Parsing, usage errors, help, the
shell's tab completion and the bash/zsh scripts all ask this instead of keeping lists of their own."""

import builtins
import keyword
import re

import docopt

ONE_OF = re.compile(r"one of: ([\w-]+(?:, [\w-]+)*)")
TOP_LEVEL_MODULES = {"version": "system", "status": "system"}  # single-word commands that share a module


class Flag:
    """One option as the Options sections describe it."""

    def __init__(self, option: "docopt.Option", description: str, is_global: bool):
        self.long = option.longer
        self.short = option.short
        self.takes_value = option.argcount == 1
        self.is_global = is_global
        match = ONE_OF.search(description)
        self.choices = tuple(match.group(1).split(", ")) if match else ()

    @property
    def spellings(self) -> tuple:
        return tuple(s for s in (self.long, self.short) if s)


class Command:
    """One usage line: the command words, positional arguments, the flags it names and which are required."""

    def __init__(self, path: tuple, arguments: tuple, flags: dict, words: tuple):
        self.path = path
        self.arguments = arguments      # e.g. ("<task>",)
        self.flags = flags              # long name -> required?
        self.words = words              # literal words after the path, e.g. ("bash", "zsh") for `(bash | zsh)`

    @property
    def target(self) -> str:
        """`module:function` under cynode.cli.commands: module = first word, function = the other words."""
        module = TOP_LEVEL_MODULES.get(self.path[0], self.path[0])
        function = "_".join(self.path[1:]).replace("-", "_") or self.path[0]
        clashes = keyword.iskeyword(function) or hasattr(builtins, function)
        return f"{module}:{function}{'_' if clashes else ''}"


def _description(section: str, flag: "docopt.Option") -> str:
    for line in section.splitlines():
        names = line.strip().split("  ")[0].replace(",", " ").replace("=", " ").split()
        if flag.longer in names or (flag.short and flag.short in names):
            return line.strip()
    return ""


def _leaves(pattern):
    """Every leaf of a docopt pattern (Command, Argument, Option), with whether it is required, in order."""
    def walk(node, required):
        if isinstance(node, docopt.LeafPattern):
            yield node, required
            return
        optional = isinstance(node, (docopt.NotRequired, docopt.OptionsShortcut, docopt.Either))
        for child in getattr(node, "children", ()):
            yield from walk(child, required and not optional)
    yield from walk(pattern, True)


class Grammar:
    """Everything the rest of the CLI needs to know about the command line, from one usage text."""

    def __init__(self, doc: str):
        sections = docopt.parse_docstring_sections(doc)
        options_text = sections.after_usage
        global_text = options_text.split("Command options:")[0]
        global_names = {option.longer for option in docopt.parse_options(global_text)}
        self.options = docopt.parse_options(options_text)
        self.flags: dict[str, Flag] = {option.longer: Flag(option, _description(options_text, option),
                                                         option.longer in global_names)
                                       for option in self.options}
        self.head = doc.split("Usage:")[0]
        self.reference = doc.split("Usage:")[1].split("\n\n", 1)[1]  # the options and the closing paragraphs
        self.usage_lines: list[str] = []  # one a command: an indented continuation line joins the one above
        for line in sections.usage_body.splitlines():
            if line.strip().startswith("cynode cli"):
                self.usage_lines.append(line)
            elif line.strip():
                self.usage_lines[-1] += " " + line.strip()
        self._commands: dict[tuple, Command] | None = None

    @property
    def commands(self) -> dict[tuple, "Command"]:
        """Every usage line as a Command, parsed on first use (help, errors and completion need them all)."""
        if self._commands is None:
            self._commands = dict(self.command_of(line) for line in self.usage_lines)
        return self._commands

    def lines_naming(self, words) -> list[str]:
        """The usage lines whose first command word is among `words`: docopt's matching time grows with every
        line it is given (36 ms for all of them here, 5 ms for one), so a command line is parsed against these."""
        words = set(words)
        return [line for line in self.usage_lines if line.split("[options]")[1].split()[0] in words]

    def usage_for(self, lines: list[str]) -> str:
        """A usage text of its own for `lines`, with the whole option reference."""
        return self.head + "Usage:\n" + "\n".join(lines) + "\n\n" + self.reference

    def command_of(self, line: str) -> tuple[tuple, "Command"]:
        pattern = docopt.parse_pattern(docopt.formal_usage("\n" + line), list(self.options))
        path, arguments, flags, words = [], [], {}, []
        for leaf, required in list(_leaves(pattern))[1:]:  # the first leaf is the word `cli`
            if isinstance(leaf, docopt.Command):
                (path if required and not words and not arguments else words).append(leaf.name)
            elif isinstance(leaf, docopt.Argument):
                arguments.append(leaf.name)
            elif isinstance(leaf, docopt.Option):
                flags[self.long_name(leaf.name)] = required
        return tuple(path), Command(tuple(path), tuple(arguments), flags, tuple(words))

    # lookups ------------------------------------------------------------------------------------------------

    def long_name(self, spelling: str) -> str:
        """`-o` / `--output` -> `--output`; unknown spellings come back as they are."""
        for flag in self.flags.values():
            if spelling in flag.spellings:
                return flag.long
        return spelling

    def flag(self, spelling: str) -> Flag | None:
        return self.flags.get(self.long_name(spelling))

    def takes_value(self, spelling: str) -> bool:
        flag = self.flag(spelling)
        return bool(flag and flag.takes_value)

    @property
    def global_flags(self) -> set[str]:
        return {name for name, flag in self.flags.items() if flag.is_global}

    def own_flags(self, path: tuple) -> set[str]:
        """Long names of the flags valid on a command: its own plus the global ones."""
        return set(self.commands[path].flags) | self.global_flags

    @property
    def groups(self) -> dict[str, list[str]]:
        """Command groups (first words with subcommands) -> their next words, in usage order."""
        groups: dict[str, list[str]] = {}
        for path in self.commands:
            for depth in range(1, len(path)):
                children = groups.setdefault(" ".join(path[:depth]), [])
                if path[depth] not in children:
                    children.append(path[depth])
        return groups

    def awaits_value(self, arg: str) -> bool:
        """`--status` or `-o` written without its value, which is then the next word."""
        return arg.startswith("-") and "=" not in arg and (arg.startswith("--") or len(arg) == 2) \
            and self.takes_value(arg)

    def words(self, argv: list[str]) -> tuple:
        """The leading non-flag words of argv, skipping flags and their values (`--flag value`)."""
        words, skip = [], False
        for arg in argv:
            if skip:
                skip = False
            elif arg == "--":
                break
            elif arg.startswith("-") and arg != "-":
                skip = self.awaits_value(arg)
            else:
                words.append(arg)
        return tuple(words)

    def command_for(self, words: tuple) -> Command | None:
        """The command named by the longest matching prefix of `words`."""
        for depth in range(len(words), 0, -1):
            if words[:depth] in self.commands:
                return self.commands[words[:depth]]
        return None
