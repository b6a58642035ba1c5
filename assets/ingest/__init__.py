"""Loaders that bring landing files into the raw schema of the working DuckDB."""
