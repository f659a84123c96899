"""MkDocs hooks of the guide: the command-line reference, generated from the program's own
argument parser at build time (so the page cannot differ from ``seggui COMMAND --help``)."""

from __future__ import annotations

import argparse

MARKER = "<!-- cli-reference -->"


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """A parser's commands by name (none for a parser without them)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _helps(parser: argparse.ArgumentParser) -> dict[str, str]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return {choice.dest: choice.help or "" for choice in action._choices_actions}
    return {}


def cli_reference() -> str:
    """Every command's ``--help``, as the parser prints it (commands of commands too, such as
    ``export masks``), with an index first."""
    from model.cli.args import build_parser

    parser = build_parser()
    helps = _helps(parser)
    lines = ["| command | what it does |", "| --- | --- |"]
    lines += [f"| [`{name}`](#{name}) | {helps.get(name, '')} |" for name in _commands(parser)]
    lines += ["", "## seggui", "", "```text", parser.format_help().rstrip(), "```", ""]
    for name, sub in _commands(parser).items():
        lines += [f"## {name}", "", "```text", sub.format_help().rstrip(), "```", ""]
        for inner, command in _commands(sub).items():
            lines += [f"### {name} {inner}", "", "```text", command.format_help().rstrip(), "```", ""]
    return "\n".join(lines)


def on_page_markdown(markdown: str, page, config, files) -> str:
    if MARKER in markdown:
        markdown = markdown.replace(MARKER, cli_reference())
    return markdown


__all__ = ["cli_reference", "on_page_markdown"]
