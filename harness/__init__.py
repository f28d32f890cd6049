"""The machinery that renders, builds, serves and containerises generated projects.

Shared by the template's tests (`tests/`) and its benchmarks (`benchmarks/`); the registry of
variants the layers iterate is `harness.variants`.
"""
