"""The expectation suites of the published tables small enough for pandas (one row per client or file)."""

from __future__ import annotations


def dim_clients_expectations() -> list:
    import great_expectations as gx

    expect = gx.expectations
    return [
        expect.ExpectColumnValuesToNotBeNull(column="client_id"),
        expect.ExpectColumnValuesToBeUnique(column="client_id"),
        expect.ExpectColumnValuesToMatchRegex(column="siren", regex=r"^\d{9}$", mostly=0.95),
        expect.ExpectColumnValuesToBeInSet(column="bookkeeping_by", value_set=["firm", "client"]),
        expect.ExpectColumnValuesToBeInSet(column="bookkeeping_frequency",
                                           value_set=["monthly", "quarterly", "yearly"]),
    ]


def ingest_files_expectations() -> list:
    import great_expectations as gx

    expect = gx.expectations
    return [
        expect.ExpectColumnValuesToBeInSet(column="status",
                                           value_set=["loaded", "superseded", "rejected", "skipped_duplicate"]),
        expect.ExpectColumnValuesToMatchRegex(column="sha256", regex=r"^[0-9a-f]{64}$"),
        expect.ExpectColumnPairValuesAToBeGreaterThanB(column_A="rows_read", column_B="rows_quarantined",
                                                       or_equal=True),
    ]


SUITES = {
    "dim_clients": dim_clients_expectations,
    "ingest_files": ingest_files_expectations,
}
