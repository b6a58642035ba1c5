"""The expectation suites of the published tables small enough for pandas (one row per client or file).

An expectation is blocking (GX's default severity, critical) only when its failure makes a published figure
wrong. A value the contract does not declare is kept and flagged (rpt_data_quality) and never blocks publishing:
its expectation has severity "warning" and a `mostly` ratio, so the check reports it without stopping the run.
"""

from __future__ import annotations

DECLARED_VALUES_MOSTLY = 0.95  # below this share of declared values, the export itself has probably changed


def dim_clients_expectations() -> list:
    import great_expectations as gx

    expect = gx.expectations
    return [
        expect.ExpectColumnValuesToNotBeNull(column="client_id"),
        expect.ExpectColumnValuesToBeUnique(column="client_id"),
        expect.ExpectColumnValuesToMatchRegex(column="siren", regex=r"^\d{9}$", mostly=0.95),
        expect.ExpectColumnValuesToBeInSet(column="bookkeeping_by", value_set=["firm", "client"],
                                           mostly=DECLARED_VALUES_MOSTLY, severity="warning"),
        expect.ExpectColumnValuesToBeInSet(column="bookkeeping_frequency",
                                           value_set=["monthly", "quarterly", "yearly"],
                                           mostly=DECLARED_VALUES_MOSTLY, severity="warning"),
    ]


def ingest_files_expectations() -> list:
    import great_expectations as gx

    expect = gx.expectations
    return [
        expect.ExpectColumnValuesToBeInSet(column="status",
                                           value_set=["loaded", "superseded", "rejected", "skipped_duplicate",
                                                                  "suspect"]),
        expect.ExpectColumnValuesToMatchRegex(column="sha256", regex=r"^[0-9a-f]{64}$"),
        expect.ExpectColumnPairValuesAToBeGreaterThanB(column_A="rows_read", column_B="rows_quarantined",
                                                       or_equal=True),
    ]


SUITES = {
    "dim_clients": dim_clients_expectations,
    "ingest_files": ingest_files_expectations,
}
