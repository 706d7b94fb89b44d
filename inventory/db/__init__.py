"""Persistence of the spare-parts network: engine/session setup, tables, scenario load/read and
Alembic upgrade. The stock ledger functions live in :mod:`inventory.ledger`."""
