"""The line-keeping YAML loader under the scenario: values as the safe loader gives them, plus lines."""

from __future__ import annotations

import pytest

from monerosim_actors.scenario.source import YamlSyntaxError, format_path, load_text


def test_values_and_lines() -> None:
    src = load_text("a:\n  b: 1\n  c: [x, 1.5, null, true]\n  d:\n    - e: 2\n5: five\n")
    assert src.data == {"a": {"b": 1, "c": ["x", 1.5, None, True], "d": [{"e": 2}]}, "5": "five"}
    assert src.lines[("a", "b")] == 2 and src.lines[("a", "d", 0, "e")] == 5 and src.lines[("5",)] == 6
    assert src.line(("a", "d", 0, "missing", "deeper")) == 5
    assert src.duplicates == []


def test_duplicate_keys_are_recorded_with_the_line_of_the_repeat() -> None:
    src = load_text("a: 1\nb:\n  c: 1\n  c: 2\n")
    assert src.duplicates == [(("b", "c"), 4)]


@pytest.mark.parametrize(("text", "line"), [("a: [1\nb: 2\n", 2), ("a: !!python/name:os.system x\n", 1),
                                            ("a: !!python/tuple [1]\n", 1), ("a: !custom {}\n", 1)])
def test_unsafe_or_broken_yaml_is_refused_with_a_line(text: str, line: int) -> None:
    with pytest.raises(YamlSyntaxError) as e:
        load_text(text)
    assert e.value.line == line and str(e.value).startswith("not valid YAML")


def test_format_path() -> None:
    assert format_path(("network", "agents", "mining_pools", 1, "id")) == "network.agents.mining_pools[1].id"
    assert format_path(()) == "" and format_path((0, "a")) == "[0].a"
