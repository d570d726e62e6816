"""Alembic revisions of the store's schema, one module each, applied in ``down_revision`` order.

A package (not a bare folder) so the setuptools package finder ships the revisions in a wheel.
"""
