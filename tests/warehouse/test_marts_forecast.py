"""The revenue forecast per province and product line, its interval and its backtest."""

from datetime import date

import pytest
from marts_tables import add_customers, add_orders, warehouse

from sources.config import ForecastConfig
from warehouse.marts import backtest, build_sales_forecast, build_sales_forecast_and_backtest

AS_OF = date(2026, 9, 30)
#: Oct 2021 … Sep 2026: 60 complete months, so that every origin of the backtest and of
#: the interval's calibration has seen each calendar month's ratio twice.
MONTHS = [date(2021 + (9 + i) // 12, (9 + i) % 12 + 1, 15) for i in range(60)]


def _december_peak(con, customer="F", december=200, other=100):
    """A series that sells ``other`` every month and ``december`` in December."""
    add_orders(con, *[(customer, d, december if d.month == 12 else other, "纸") for d in MONTHS])


def _forecast(con, as_of=AS_OF) -> dict:
    build_sales_forecast(con, ForecastConfig(), as_of)
    frame = con.sql("FROM marts.sales_forecast ORDER BY province, month").df()
    return {(r["province"], r["month"].date()): r for r in frame.to_dict("records")}


def test_a_clean_season_is_forecast_exactly():
    """Each 12-month average around a month is (11·100 + 200) / 12; the December index is
    200 ÷ that = 24/13, the others 12/13; the deseasonalised level is 1300/12 every month,
    so the next three months are 100, 100 and 200, and a year-on-year trend of 0."""
    con = warehouse()
    add_customers(con, {"customer_id": "F", "province": "福建省"})
    _december_peak(con)
    rows = _forecast(con)
    got = {m: float(r["forecast"]) for (_, m), r in rows.items()}
    assert got == {date(2026, 10, 1): 100.0, date(2026, 11, 1): 100.0, date(2026, 12, 1): 200.0}
    december = rows[("福建省", date(2026, 12, 1))]
    assert december["horizon"] == 3 and december["product_line"] == "纸"
    assert float(december["revenue_year_before"]) == 200.0
    # every earlier forecast was exact, so the interval closes on the forecast
    assert float(december["lower"]) == float(december["upper"]) == 200.0


def test_only_complete_months_are_history():
    """On 15 September, September is not over: the forecast starts in September, from August."""
    con = warehouse()
    add_customers(con, {"customer_id": "F", "province": "福建省"})
    _december_peak(con)
    add_orders(con, ("F", date(2026, 9, 16), 1_000_000, "纸"))  # after as_of: not history
    rows = _forecast(con, as_of=date(2026, 9, 15))
    assert sorted(m for _, m in rows) == [date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)]
    assert {float(r["forecast"]) for r in rows.values()} == {100.0}
    assert {r["last_complete_month"].date() for r in rows.values()} == {date(2026, 8, 1)}


def test_unknown_province_and_product_line_fall_back():
    """A customer without a province is its own series (province empty); an order feed
    without product lines is forecast per product."""
    con = warehouse()
    add_customers(con, {"customer_id": "N"})
    _december_peak(con, customer="N")
    rows = _forecast(con)
    assert {(r["province"], r["product_line"]) for r in rows.values()} == {(None, "纸")}


def test_backtest_scores_the_model_beside_seasonal_naive():
    """On a clean season both methods are exact; when the business grows 3% a month, the seasonal
    naive forecast (last year's month) stays low, the model's trend follows."""
    con = warehouse()
    add_customers(con, {"customer_id": "F", "province": "福建省"})
    _december_peak(con)
    scores = {s.method: s for s in backtest(con, ForecastConfig(), AS_OF)}
    assert scores.keys() == {"seasonal_level_trend", "seasonal_naive"}
    for s in scores.values():
        assert (s.origins, s.points, s.smape, s.bias) == (6, 18, 0.0, 0.0)
    assert scores["seasonal_level_trend"].coverage == 100.0
    assert scores["seasonal_naive"].coverage is None

    growing = warehouse()
    add_customers(growing, {"customer_id": "G", "province": "福建省"})
    add_orders(growing, *[("G", d, 100 * 1.03**i, "纸") for i, d in enumerate(MONTHS)])
    scores = {s.method: s for s in backtest(growing, ForecastConfig(), AS_OF)}
    model, naive = scores["seasonal_level_trend"], scores["seasonal_naive"]
    assert naive.bias == pytest.approx(100 * (1.03**-12 - 1), abs=0.1)  # a year behind: −29.9%
    assert abs(model.bias) < abs(naive.bias) / 3 and model.smape < naive.smape / 3


def test_forecast_and_backtest_together_give_what_each_gives_alone():
    """A sync builds the forecast and scores the backtest on one series and one run of the
    model over both's origins: the same rows and scores as each on its own (two provinces,
    one growing unevenly, so that intervals and errors are not trivial)."""
    con = warehouse()
    add_customers(
        con, {"customer_id": "F", "province": "福建省"}, {"customer_id": "G", "province": "广东省"}
    )
    _december_peak(con)
    add_orders(con, *[("G", d, 100 * 1.03**i + 37 * (i % 5), "纸") for i, d in enumerate(MONTHS)])
    config = ForecastConfig(backtest_origins=4)
    build_sales_forecast(con, config, AS_OF)
    alone = (
        con.sql("FROM marts.sales_forecast ORDER BY ALL").fetchall(),
        backtest(con, config, AS_OF),
    )
    rows, scores = build_sales_forecast_and_backtest(con, config, AS_OF)
    together = con.sql("FROM marts.sales_forecast ORDER BY ALL").fetchall()
    assert (together, scores) == alone
    assert rows == len(together) == 6
    assert {s.points for s in scores} == {24}
    assert con.sql("FROM duckdb_tables() WHERE temporary").fetchall() == []  # work tables dropped
