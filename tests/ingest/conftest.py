import duckdb
import pytest

from assets.ingest.raw_tables import create_raw_schema


@pytest.fixture
def con():
    """An in-memory warehouse with the raw schema, as the ingest assets see it."""
    connection = duckdb.connect()
    create_raw_schema(connection)
    yield connection
    connection.close()
