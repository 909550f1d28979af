"""Migrations have one head and match the models on this database."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask

from app.documents.search import is_fts_table
from app.extensions import db
from config import ROOT


def test_migrations_have_a_single_head(app: Flask) -> None:
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config(str(ROOT / "migrations"))
        assert len(ScriptDirectory.from_config(config).get_heads()) == 1


def _in_models(object_: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """As migrations/env.py: SQLite's FTS5 tables are made by a migration, not declared as models."""
    return not (type_ == "table" and name is not None and is_fts_table(name))


def test_the_migrated_schema_matches_the_models(app: Flask) -> None:
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "include_object": _in_models})
        assert compare_metadata(context, db.metadata) == []
