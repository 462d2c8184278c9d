"""`--help` of every command lists each option with its default."""

from __future__ import annotations

import argparse

from champy.cli import build_parser


def _parsers(parser: argparse.ArgumentParser, name: str = "champy"):
    """(command name, parser) for `parser` and every sub-command below it."""
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from _parsers(sub, f"{name} {sub_name}")


def test_every_option_with_a_default_shows_it_in_help():
    checked = 0
    for name, parser in _parsers(build_parser()):
        text = " ".join(parser.format_help().split())
        for action in parser._actions:
            if not action.option_strings or action.default in (None, False, argparse.SUPPRESS):
                continue
            assert action.help, f"{name} {action.option_strings[0]} has no help text"
            shown = parser.formatter_class(name)._get_help_string(action) % {"default": action.default}
            assert "default" in shown and " ".join(shown.split()) in text, (name, action.option_strings[0])
            checked += 1
    assert checked >= 30
