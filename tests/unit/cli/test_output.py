"""Table and JSON rendering rules (spec/cli.md §2.2, §2.3)."""

import json

import pytest

from cynode.cli.output import json_text, kv_line, kv_value, tsv


@pytest.mark.parametrize("value, text", [
    (True, "true"),
    (False, "false"),
    (0, "0"),
    (42, "42"),
    (1.5, "1.5"),
    ("abc-123_x.y/z:w", "abc-123_x.y/z:w"),
    ("häuschen", "häuschen"),
    ("", '""'),
    (None, '""'),
    ("my task", '"my task"'),
    ("hello\n", '"hello\\n"'),
    ("tab\there", '"tab\\there"'),
    ('say "hi"', '"say \\"hi\\""'),
    ("a=b", '"a=b"'),
    ("back\\slash", '"back\\\\slash"'),
    ("bell\x07", '"bell\\u0007"'),
    ("del\x7f", '"del\x7f"'),
    ({"b": 1, "a": [1, "x y"]}, '{"b":1,"a":[1,"x y"]}'),
    ([], "[]"),
    ({"ü": "ö"}, '{"ü":"ö"}'),
])
def test_kv_values(value, text):
    assert kv_value(value) == text


def test_kv_line_keeps_key_order_and_single_spaces():
    assert kv_line({"task_id": "t1", "task_name": "my task", "ok": True}) == 'task_id=t1 task_name="my task" ok=true'
    assert kv_line({}) == ""


def test_tsv_header_rows_and_cell_rules():
    rows = [{"a": "x\ty", "b": None, "c": True, "d": {"k": [1]}},
            {"a": "line1\nline2\r", "c": False, "d": 3, "extra": "ignored"}]
    assert tsv(["a", "b", "c", "d"], rows).split("\n") == [
        "a\tb\tc\td",
        "x y\t\ttrue\t{\"k\":[1]}",
        "line1 line2 \t\tfalse\t3",
    ]


def test_tsv_with_no_rows_is_the_header_only():
    assert tsv(["id", "handle"], []) == "id\thandle"


def test_json_is_pretty_utf8_and_unescaped():
    value = {"name": "häuschen <&>", "list": [1, {"x": None}]}
    text = json_text(value)
    assert json.loads(text) == value
    assert text.splitlines()[1] == '  "name": "häuschen <&>",'
    assert "\\u" not in text
