"""The skill content policy (spec/gateway.md §9): a skill that hides text from its reader, tries to override the
model's instructions or asks for secrets is refused. The phrases are data (skill_policy.json, shipped in the
package), not code.

Matching is done on a folded copy of the text, so spelling tricks do not slip through: each character is
decomposed (NFKD: fullwidth and other compatibility forms become plain letters, accents come apart), combining
marks and invisible format characters (zero-width space and joiners, soft hyphen, BOM, tag characters) are
dropped, case is folded, letters that only look Latin (Cyrillic `о`, Greek `ο`) become the Latin letter, and
every run of anything that is not a letter or digit (whitespace, newlines, punctuation) becomes one space. A
phrase matches as whole words. The text reported is the exact substring as written.
"""

import array
import functools
import itertools
import json
import re
import unicodedata
from dataclasses import dataclass
from importlib import resources

POLICY_FILE = "skill_policy.json"
HIDDEN_INSTRUCTIONS = "hidden_instructions"
# An HTML comment hides its text from a person reading the rendered Markdown, but not from a model. One left
# open hides everything after it (CommonMark HTML block, kind 2), so it runs to the end of the text.
_COMMENT = re.compile(r"<!--(.*?)(?:-->|\Z)", re.S)
_DROPPED = frozenset(("Mn", "Me", "Cf"))  # combining marks, enclosing marks, format (invisible) characters


@dataclass(frozen=True)
class Violation:
    """Why content was refused: the category and the text that triggered it, exactly as written."""

    category: str
    triggering_text: str


@dataclass(frozen=True)
class Policy:
    """The phrase categories in checking order, each as one compiled pattern over folded text."""

    categories: tuple[tuple[str, re.Pattern], ...]


@functools.cache
def _data() -> dict:
    """The policy file shipped with the package (read once)."""
    return json.loads(resources.files(__package__).joinpath(POLICY_FILE).read_text(encoding="utf-8"))


@functools.cache
def policy() -> Policy:
    categories = []
    for category in _data()["categories"]:
        phrases = sorted({fold(phrase)[0].strip() for phrase in category["phrases"]} - {""}, key=len, reverse=True)
        # whole words: at the start or after a space, and at the end or before one
        pattern = re.compile(r"(?<![^ ])(?:" + "|".join(map(re.escape, phrases)) + r")(?![^ ])")
        categories.append((category["name"], pattern))
    return Policy(tuple(categories))


@functools.lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    """One character, folded: its letters and digits, lower case and Latin where they only look otherwise, and a
    space for anything else ("" for what is dropped); runs of spaces already collapsed into one."""
    out = []
    for piece in unicodedata.normalize("NFKD", char):
        if unicodedata.category(piece) in _DROPPED:
            continue
        for folded in piece.casefold():
            folded = _data()["confusables"].get(folded, folded)
            folded = folded if folded.isalnum() else " "
            if folded != " " or not out or out[-1] != " ":
                out.append(folded)
    return "".join(out)


def fold(text: str) -> tuple[str, array.array]:
    """`text` folded for matching, and for each folded character the index in `text` of the character it came
    from. Runs of separators collapse into one space; there is never a leading space.

    One character may fold into many (U+FDFA into 18): the folded text is built from each character's cached
    folded string and the indexes kept in an array, never one Python object per folded character."""
    chunks: list[str] = []
    origin = array.array("I")  # 4 bytes an index: a text is far shorter than 2**32
    after_space = True  # at the start, as after a space: a leading space is dropped
    for index, char in enumerate(text):
        chunk = _fold_char(char)
        if after_space and chunk[:1] == " ":
            chunk = chunk[1:]
        if chunk:
            chunks.append(chunk)
            origin.extend(itertools.repeat(index, len(chunk)))
            after_space = chunk[-1] == " "
    return "".join(chunks), origin


def _visible_text(text: str) -> bool:
    return any(not char.isspace() and unicodedata.category(char) not in _DROPPED for char in text)


def scan(text: str) -> Violation | None:
    """The first violation in category order (hidden instructions, then the file's categories in order; within a
    category the earliest in the text), or None when the text may be stored."""
    for match in _COMMENT.finditer(text):
        if _visible_text(match.group(1)):
            return Violation(HIDDEN_INSTRUCTIONS, match.group(0))
    checked = policy()
    folded, origin = fold(text)
    for category, pattern in checked.categories:
        match = pattern.search(folded)
        if match:
            return Violation(category, text[origin[match.start()]:origin[match.end() - 1] + 1])
    return None
