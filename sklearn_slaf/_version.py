"""The package version (one place; setup.cfg and pickles read it)."""

__version__ = "0.1.0.dev0"
