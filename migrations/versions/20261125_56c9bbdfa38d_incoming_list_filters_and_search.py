"""incoming list filters and diacritics-free search

PostgreSQL: pg_trgm and btree_gin, and one GIN index over agency_id and the trigrams of
incoming_documents.search_text (LIKE '%word%' within one agency).
SQLite: an FTS5 external-content table over search_text kept in step by triggers, and an empty
stand-in (WHERE 0) of the trigram index so the schema matches the models. Both: btree indexes for the
list of one agency, newest first, alone, by urgency and by type, which replace the index on agency_id
alone, and one on instance_id; search_text is filled for documents registered before.

SQLite drops a table's triggers with the table: a later batch migration that rebuilds
incoming_documents on SQLite must run create_sqlite_triggers() again.

Revision ID: 56c9bbdfa38d
Revises: c08fc77138bb
Create Date: 2026-11-25 15:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

from app.documents.search import FTS_TABLE, joined_parts


# revision identifiers, used by Alembic.
revision = '56c9bbdfa38d'
down_revision = 'c08fc77138bb'
branch_labels = None
depends_on = None

LIST_INDEXES = {
    'ix_incoming_documents_agency_arrival': ['agency_id', 'arrival_at'],
    'ix_incoming_documents_agency_urgency': ['agency_id', 'urgency', 'arrival_at'],
    'ix_incoming_documents_agency_type': ['agency_id', 'type_name', 'arrival_at'],
    'ix_incoming_documents_instance_id': ['instance_id'],  # status filter; the task page's document
}
TRIGGERS = {
    'insert': f"""
        CREATE TRIGGER {FTS_TABLE}_insert AFTER INSERT ON incoming_documents BEGIN
            INSERT INTO {FTS_TABLE}(rowid, search_text) VALUES (new.id, new.search_text);
        END""",
    'delete': f"""
        CREATE TRIGGER {FTS_TABLE}_delete AFTER DELETE ON incoming_documents BEGIN
            INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, search_text) VALUES ('delete', old.id, old.search_text);
        END""",
    'update': f"""
        CREATE TRIGGER {FTS_TABLE}_update AFTER UPDATE OF search_text ON incoming_documents BEGIN
            INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, search_text) VALUES ('delete', old.id, old.search_text);
            INSERT INTO {FTS_TABLE}(rowid, search_text) VALUES (new.id, new.search_text);
        END""",
}


def upgrade():
    bind = op.get_bind()
    _fill_search_text(bind)
    for name, columns in LIST_INDEXES.items():
        op.create_index(name, 'incoming_documents', columns)
    # Its own prefix in every index above; left alone, PostgreSQL preferred it and filtered 58,000 rows.
    op.drop_index('ix_incoming_documents_agency_id', table_name='incoming_documents')
    if bind.dialect.name == 'postgresql':
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
        op.execute('CREATE EXTENSION IF NOT EXISTS btree_gin')
        op.create_index(
            'ix_incoming_documents_search_text',
            'incoming_documents',
            ['agency_id', 'search_text'],
            postgresql_using='gin',
            postgresql_ops={'search_text': 'gin_trgm_ops'},
        )
        return
    op.create_index(
        'ix_incoming_documents_search_text',
        'incoming_documents',
        ['agency_id', 'search_text'],
        sqlite_where=sa.text('0'),
    )
    if bind.dialect.name == 'sqlite' and _has_fts5(bind):
        op.execute(
            f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(search_text, content='incoming_documents', "
            "content_rowid='id', tokenize='unicode61 remove_diacritics 2')"
        )
        create_sqlite_triggers()
        op.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite':
        for kind in TRIGGERS:
            op.execute(f'DROP TRIGGER IF EXISTS {FTS_TABLE}_{kind}')
        op.execute(f'DROP TABLE IF EXISTS {FTS_TABLE}')
    # pg_trgm and btree_gin stay: they may serve others, and IF NOT EXISTS cannot tell who made them.
    op.drop_index('ix_incoming_documents_search_text', table_name='incoming_documents')
    op.create_index('ix_incoming_documents_agency_id', 'incoming_documents', ['agency_id'])
    for name in LIST_INDEXES:
        op.drop_index(name, table_name='incoming_documents')


def create_sqlite_triggers():
    for statement in TRIGGERS.values():
        op.execute(statement)


def _has_fts5(bind):
    return bool(bind.exec_driver_sql("SELECT sqlite_compileoption_used('ENABLE_FTS5')").scalar())


def _fill_search_text(bind):
    documents = sa.table(
        'incoming_documents',
        sa.column('id', sa.Integer),
        sa.column('organ_name', sa.String),
        sa.column('code_number', sa.String),
        sa.column('code_notation', sa.String),
        sa.column('type_name', sa.String),
        sa.column('subject', sa.String),
        sa.column('description', sa.String),
        sa.column('search_text', sa.Text),
    )
    rows = bind.execute(sa.select(documents).where(documents.c.search_text == '')).all()
    for row in rows:
        number_symbol = f'{row.code_number}/{row.code_notation}' if row.code_number else row.code_notation
        text = joined_parts(row.organ_name, number_symbol, row.type_name, row.subject, row.description or '')
        bind.execute(documents.update().where(documents.c.id == row.id).values(search_text=text))
