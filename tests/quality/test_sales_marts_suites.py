"""The sales marts' suites: funnel counts that do not add up and negative amounts are caught."""

import duckdb

from quality.gx import validate
from quality.marts_suite import mart_specs, marts_frame, marts_suite
from sources.config import MartsConfig

SPECS = {s.table: s for s in mart_specs(MartsConfig())}


def outcomes(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, bool]:
    spec = SPECS[table]
    return {o.name: o.passed for o in validate(marts_suite(spec), marts_frame(con, spec))}


def test_funnel_counts_must_add_up_and_stay_within_their_totals():
    con = duckdb.connect()
    con.execute("CREATE SCHEMA marts")
    con.execute(
        """CREATE TABLE marts.lead_funnel AS SELECT * FROM (VALUES
               ('展会', 'regional', DATE '2025-01-01', 3, 2, 1, 1, 150.0, 30.0),
               ('官网', 'dealers', DATE '2025-02-01', 2, 1, 1, 1, 0.0, 0.0))
           t(acquisition_channel, source, first_contact_month, prospects, became_customers,
             still_prospects, first_year_customers, first_year_revenue, avg_days_to_convert)"""
    )
    assert outcomes(con, "marts.lead_funnel") == {
        "amounts_not_negative": True,
        "funnel_counts_add_up": True,
    }
    con.execute("UPDATE marts.lead_funnel SET prospects = 4 WHERE source = 'regional'")
    assert outcomes(con, "marts.lead_funnel")["funnel_counts_add_up"] is False
    con.execute("UPDATE marts.lead_funnel SET prospects = 3, first_year_customers = 3")
    assert outcomes(con, "marts.lead_funnel")["funnel_counts_add_up"] is False


def test_a_negative_forecast_or_an_unknown_status_fails():
    con = duckdb.connect()
    con.execute("CREATE SCHEMA marts")
    con.execute(
        """CREATE TABLE marts.sales_forecast AS SELECT '福建省' AS province, '纸' AS product_line,
                  DATE '2026-10-01' AS month, 100.0 AS forecast, -5.0 AS lower, 200.0 AS upper"""
    )
    assert outcomes(con, "marts.sales_forecast") == {"amounts_not_negative": False}
    con.execute(
        """CREATE TABLE marts.next_order AS SELECT 'CM1' AS customer_id, 'someday' AS status,
                  30 AS usual_gap_days, 10.0 AS expected_amount"""
    )
    assert outcomes(con, "marts.next_order") == {
        "segments_in_value_sets": False,
        "amounts_not_negative": True,
    }
