"""Alembic environment: run programmatically by kiosk.db.migrate (no alembic.ini)."""

from alembic import context

from kiosk.db import Base
from kiosk.db.migrate import import_all_models

config = context.config
import_all_models(config.attributes.get("plugin_model_modules", []))
target_metadata = Base.metadata
connection = config.attributes["connection"]

context.configure(
    connection=connection,
    target_metadata=target_metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
