"""Tests of the HTTP service (a package, so its conftest does not clash with tests/conftest.py)."""
