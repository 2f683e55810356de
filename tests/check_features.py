"""Feature-file rules: exactly one @suite_* tag per file, and @req_* and @spec_* tags on every scenario.

Usage: python tests/check_features.py DIR   (exit 1 listing every violation)
"""

import sys
from pathlib import Path


def _tags(line: str) -> set[str]:
    return {word for word in line.split() if word.startswith("@")}


def check(path: Path) -> list[str]:
    """The rule violations in one feature file."""
    problems, pending, feature_tags = [], set(), set()
    scenarios = 0
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if line.startswith("@"):
            pending |= _tags(line)
        elif line.startswith("Feature:"):
            feature_tags, pending = pending, set()
        elif line.startswith(("Scenario:", "Scenario Outline:", "Example:")):
            scenarios += 1
            tags = pending | feature_tags
            for prefix in ("@req_", "@spec_"):
                if not any(tag.startswith(prefix) for tag in tags):
                    problems.append(f"{path}:{number}: scenario has no {prefix}* tag")
            if any(tag.startswith("@suite_") for tag in pending):
                problems.append(f"{path}:{number}: @suite_* belongs on the Feature, not a scenario")
            pending = set()
        elif line and not line.startswith("#"):
            pending = set() if not line.startswith("Examples:") else pending
    suites = [tag for tag in feature_tags if tag.startswith("@suite_")]
    if len(suites) != 1:
        problems.append(f"{path}: needs exactly one @suite_* tag on the Feature, found {len(suites)}")
    if not scenarios:
        problems.append(f"{path}: has no scenarios")
    return problems


def main(argv: list[str]) -> int:
    files = sorted(Path(argv[0] if argv else "features").rglob("*.feature"))
    problems = [problem for path in files for problem in check(path)]
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"{len(files)} feature files checked, {len(problems)} problems")
    return 1 if problems or not files else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
