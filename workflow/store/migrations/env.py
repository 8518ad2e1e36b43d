"""Alembic environment: gongwen runs migrations in-process on the connection it hands over."""

from alembic import context

from workflow.store.orm import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata,
                  render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
with context.begin_transaction():
    context.run_migrations()
