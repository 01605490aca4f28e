"""The Textual shells: the lobby kiosk, the butler desk, their widgets and the simulate runner.

The only package of the core allowed to import textual (import-linter checks it).
"""
