"""Data-quality checks run by Dagster asset checks: Great Expectations suites on small published tables.

Large-table rules (the ledger) live in SQL as dbt tests; GX on pandas is for tables of client size.
"""
