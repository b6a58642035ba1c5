"""replace_table and insert_rows: values arrive exactly with their types; inside a transaction, a value the table
refuses is reported with its real cause (issue 9), not as DuckDB's "Current transaction is aborted" from a clean-up
statement."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import duckdb
import pytest

from assets.warehouse import insert_rows, replace_table, transaction

COLUMNS = {"client_id": "VARCHAR NOT NULL", "price_max": "DECIMAL(18,2)", "first_detected_on": "DATE"}


def test_a_value_out_of_range_for_decimal_18_2_is_reported_as_such_and_rolled_back():
    con = duckdb.connect()
    replace_table(con, "marts.opportunities", COLUMNS,
                  [{"client_id": "A", "price_max": Decimal("900.00"), "first_detected_on": date(2026, 1, 31)}])
    with pytest.raises(duckdb.Error) as error, transaction(con):
        replace_table(con, "marts.opportunities", COLUMNS,
                      [{"client_id": "B", "price_max": Decimal(10) ** 16, "first_detected_on": None}])
    assert "transaction is aborted" not in str(error.value)
    assert "DECIMAL(18,2)" in str(error.value), str(error.value)
    assert con.execute("SELECT client_id, price_max FROM marts.opportunities").fetchall() == [("A", Decimal("900.00"))]


def test_outside_a_transaction_the_real_error_surfaces_too_and_the_connection_stays_usable():
    con = duckdb.connect()
    with pytest.raises(duckdb.ConversionException, match="DATE"):
        replace_table(con, "main.t", COLUMNS,
                      [{"client_id": "A", "price_max": None, "first_detected_on": "2025-02-30"}])
    replace_table(con, "main.t", COLUMNS, [{"client_id": "A", "price_max": "1.5", "first_detected_on": "2025-02-28"}])
    assert con.execute("SELECT * FROM main.t").fetchall() == [("A", Decimal("1.50"), date(2025, 2, 28))]


def test_values_arrive_exactly_with_their_types_and_nulls():
    con = duckdb.connect()
    rows = [{"client_id": "A", "price_max": Decimal("12345678901234.56"), "first_detected_on": date(2026, 3, 31)},
            {"client_id": "B", "price_max": None, "first_detected_on": None}]
    with transaction(con):
        replace_table(con, "marts.t", COLUMNS, rows)
    assert con.execute("SELECT * FROM marts.t ORDER BY client_id").fetchall() == [
        ("A", Decimal("12345678901234.56"), date(2026, 3, 31)), ("B", None, None)]
    assert con.execute("SELECT count(*) FROM duckdb_views() WHERE NOT internal").fetchone() == (0,)


def test_insert_rows_appends_every_row_in_one_statement_by_column_name():
    con = duckdb.connect()
    # the table's columns in another order than the rows': values go by name, not by position
    con.execute("CREATE TABLE t (seen_at TIMESTAMP, note VARCHAR, amount DECIMAL(18,2) NOT NULL, n BIGINT)")
    columns = {"n": "BIGINT", "amount": "DECIMAL(18,2) NOT NULL", "note": "VARCHAR", "seen_at": "TIMESTAMP"}
    rows = [[1, Decimal("12345678901234.56"), "", datetime(2026, 12, 5, 8, 30, 0, 123456)],
            [2, Decimal("-0.01"), None, None]] + [[n, Decimal(n), "l'écriture", None] for n in range(3, 2001)]
    insert_rows(con, "t", columns, rows)
    assert con.execute("SELECT count(*), sum(n) FROM t").fetchone() == (2000, 2001000)
    assert con.execute("SELECT n, amount, note, seen_at FROM t WHERE n <= 3 ORDER BY n").fetchall() == [
        (1, Decimal("12345678901234.56"), "", datetime(2026, 12, 5, 8, 30, 0, 123456)),
        (2, Decimal("-0.01"), None, None), (3, Decimal("3.00"), "l'écriture", None)]
    insert_rows(con, "t", columns, [])  # nothing to add is not an error
    with pytest.raises(duckdb.ConstraintException, match="amount"):
        insert_rows(con, "t", columns, [[9, None, "x", None]])
