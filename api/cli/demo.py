"""`spares demo` command."""

from __future__ import annotations

import typer


def register(root: typer.Typer) -> None:
    """Attach this module's command(s) to the root app."""
