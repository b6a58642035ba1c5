"""One Spark Thrift Server for the Spark tests: they share the xdist group "spark", so one worker runs them all."""

from __future__ import annotations

import pytest

from tests.spark.thrift_server import thrift_server


@pytest.fixture(scope="session")
def spark_port(tmp_path_factory):
    with thrift_server(tmp_path_factory.mktemp("spark")) as port:
        yield port
