"""Plain-spoken usage errors for docopt command lines (docopt's own messages name its internal objects)."""


def known_flags(doc: str) -> set[str]:
    """Every `-x` / `--long` spelled anywhere in a usage text."""
    words = doc.replace(",", " ").replace("=", " ").replace("[", " ").replace("]", " ").replace("|", " ").split()
    return {word for word in words if word.startswith("-") and len(word) > 1 and word != "--"}


def unknown_flag(doc: str, argv: list[str]) -> str | None:
    """The first flag in argv that the usage text does not know (`-ovalue` counts as `-o`)."""
    known = known_flags(doc)
    for arg in argv:
        if arg == "--":
            break
        if not arg.startswith("-") or arg == "-":
            continue
        name = arg.split("=", 1)[0]
        if name not in known and not (not arg.startswith("--") and arg[:2] in known):
            return name
    return None
