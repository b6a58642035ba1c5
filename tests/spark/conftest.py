"""One Spark Thrift Server per pytest worker that runs Spark tests (`make test` sends each module whole to a worker)."""

from __future__ import annotations

import pytest

from tests.spark.thrift_server import thrift_server


@pytest.fixture(scope="session")
def spark_port(tmp_path_factory):
    with thrift_server(tmp_path_factory.mktemp("spark")) as port:
        yield port
