"""The CLI reference page, generated from the typer application while the site builds.

A MkDocs hook (`hooks:` in mkdocs.yml): in the page that holds the `<!-- cli-reference -->`
marker, the marker becomes every command's `--help`, the root first, then each group and its
commands in the order `rollout --help` lists them. The reference cannot drift from the code.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

MARKER = "<!-- cli-reference -->"
WIDTH = 100  # the help text's width, whatever the terminal


def commands() -> Iterator[tuple[str, Any, Any]]:
    """(`rollout group command`, the click command, its context) for every command, depth first."""
    import typer.main

    from rollout.cli import app

    def walk(command: Any, path: str, parent: Any) -> Iterator[tuple[str, Any, Any]]:
        name = path.rsplit(" ", 1)[-1]
        ctx = command.context_class(
            command, info_name=name, parent=parent, max_content_width=WIDTH, terminal_width=WIDTH
        )
        yield path, command, ctx
        for name in command.list_commands(ctx) if hasattr(command, "list_commands") else ():
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                yield from walk(sub, f"{path} {name}", ctx)

    yield from walk(typer.main.get_command(app), "rollout", None)


def reference() -> str:
    """The reference: a heading and the `--help` text of each command."""
    sections = []
    for path, command, ctx in commands():
        level = "##" if path.count(" ") <= 1 else "###"
        sections.append(f"{level} `{path}`\n\n```text\n{command.get_help(ctx).rstrip()}\n```\n")
    return "\n".join(sections)


def on_page_markdown(markdown: str, **_: Any) -> str:
    """MkDocs' page hook: the marker replaced with the reference."""
    return markdown.replace(MARKER, reference()) if MARKER in markdown else markdown
