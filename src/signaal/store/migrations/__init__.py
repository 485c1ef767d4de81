"""Alembic migrations of the app store (run them with ``signaal db upgrade``)."""
