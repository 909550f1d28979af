"""`flask interop directory-import FILE`: import a CSV or XML list of agency codes into the directory (INT-3)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext
from flask_babel import force_locale, gettext

from app import clock
from app.db import transaction
from app.errors import InvalidInput
from app.interop import directory


@click.command("directory-import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--actor", default="cli", show_default=True, help="Recorded as who changed the entries.")
@with_appcontext
def directory_import(file: Path, actor: str) -> None:
    """Add or update the agency codes listed in FILE (CSV or XML); nothing is imported when a line is wrong."""
    with file.open("rb") as stream:
        content = stream.read(directory.MAX_IMPORT_BYTES + 1)  # one byte more tells a file too large
    with force_locale("en"):
        try:
            with transaction() as session:
                result = directory.import_file(session, None, file.name, content, now=clock.now(), actor=actor)
        except InvalidInput as error:
            click.echo(f"ERROR: {error.translated()}", err=True)
            for problem in getattr(error, "problems", []):
                where = gettext("line %(line)s, %(code)s", line=problem.line, code=problem.code or "—")
                click.echo(f"  {where}: {problem.translated()}", err=True)
            sys.exit(1)
        click.echo(
            gettext(
                "Imported: %(added)s added, %(updated)s updated, %(unchanged)s unchanged.",
                added=result.added,
                updated=result.updated,
                unchanged=result.unchanged,
            )
        )
