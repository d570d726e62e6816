"""The store's schema revisions (Alembic) and the start-up migrator that applies them.

``versions/`` holds one module per revision; ``env.py`` and ``script.py.mako`` are Alembic's
entry script and new-revision template; `migrator.migrate` is what `open_engine` calls;
`plan` decides, purely, how to treat a store written before Alembic.
"""
