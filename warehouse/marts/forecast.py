"""``marts.sales_forecast``: the next months' revenue per province and product line, with a
prediction interval; and the backtest that says how far to trust it.

The history is ``marts.orders`` by calendar month, province (the golden customer's) and
product line (the order feed's ``product_line``, else the product itself), up to the last
complete month on or before ``as_of`` (the *origin*). The point forecast is the seasonal
level-and-trend model of :mod:`warehouse.marts.forecast_model`.

The **prediction interval** is empirical: the model is run from each of the 12 origins
before (whose next 3 months are known by the origin), and per product line the
``(1 − interval) / 2`` and ``(1 + interval) / 2`` quantiles of actual ÷ forecast scale the
forecast (80%: the 10th and 90th percentiles). A line with fewer than 10 such pairs has no
interval. The backtest computes the interval the same way from each of its origins, with
only the months before, so its coverage is an honest measure of the interval.

The **backtest** (:func:`backtest`) forecasts from each of the last ``backtest_origins``
origins whose next ``horizon_months`` are complete, and compares with what was sold: sMAPE
(the mean over series, origins and horizons of 2·|F − A| / (|F| + |A|), 0 when both are 0),
bias (ΣF ÷ ΣA − 1) and the interval's coverage, beside the seasonal-naive baseline's.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

import duckdb

from sources.config import ForecastConfig
from warehouse.marts._sql import create_table
from warehouse.marts.forecast_model import model_sql, seasonal_naive_sql

#: Earlier origins whose errors give a forecast its interval, and the fewest errors needed.
CALIBRATION_ORIGINS = 12
MIN_CALIBRATION_PAIRS = 10


def last_complete_month(as_of: date) -> str:
    """SQL for the first day of the last month that ended on or before ``as_of``."""
    return f"(date_trunc('month', DATE '{as_of.isoformat()}' + 1) - INTERVAL 1 MONTH)::DATE"


def _series(con: duckdb.DuckDBPyConnection, as_of: date) -> None:
    """``__sales_series``: revenue per province, product line and month, every month from the
    first order to the last complete month (0 where nothing sold); unknown keys are ''."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE __sales_series AS
        WITH monthly AS (
            SELECT coalesce(c.province, '') AS province,
                   coalesce(o.product_line, o.product, '') AS product_line,
                   date_trunc('month', o.order_date)::DATE AS month, sum(o.amount)::DOUBLE AS revenue
            FROM marts.orders o LEFT JOIN master.customers c USING (customer_id)
            WHERE o.order_date < {last_complete_month(as_of)} + INTERVAL 1 MONTH
            GROUP BY ALL
        ),
        months AS (
            SELECT unnest(generate_series(min(month), {last_complete_month(as_of)},
                                          INTERVAL 1 MONTH))::DATE AS month FROM monthly
        )
        SELECT k.province, k.product_line, m.month, coalesce(s.revenue, 0) AS revenue
        FROM (SELECT DISTINCT province, product_line FROM monthly) k CROSS JOIN months m
        LEFT JOIN monthly s USING (province, product_line, month)
    """)


def _origins(con: duckdb.DuckDBPyConnection, origins_sql: str) -> None:
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE __origins AS SELECT origin::DATE AS origin FROM ({origins_sql})"
    )


def _forecasts(con: duckdb.DuckDBPyConnection, name: str, sql: str) -> None:
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")


def _with_interval_sql(targets_sql: str, cfg: ForecastConfig) -> str:
    """Forecasts from the origins of ``targets_sql`` with the interval calibrated on the model's
    errors from the ``CALIBRATION_ORIGINS`` origins before each (reads ``__model``)."""
    low, high = (1 - cfg.interval) / 2, (1 + cfg.interval) / 2
    return f"""
        WITH errors AS (
            SELECT t.origin, m.product_line, s.revenue / m.forecast AS ratio
            FROM ({targets_sql}) t
            JOIN __model m ON m.origin < t.origin
                 AND m.origin >= (t.origin - to_months({CALIBRATION_ORIGINS + cfg.horizon_months - 1}))::DATE
                 AND m.month <= t.origin
            JOIN __sales_series s USING (province, product_line, month)
            WHERE m.forecast > 0
        ),
        bands AS (
            SELECT origin, product_line, quantile_cont(ratio, {low}) AS low, quantile_cont(ratio, {high}) AS high
            FROM errors GROUP BY ALL HAVING count(*) >= {MIN_CALIBRATION_PAIRS}
        )
        SELECT m.*, m.forecast * b.low AS lower, m.forecast * b.high AS upper
        FROM __model m JOIN ({targets_sql}) t USING (origin)
        LEFT JOIN bands b USING (origin, product_line)
    """


def _origin_range(last_sql: str, first_back: int, last_back: int) -> str:
    return f"""SELECT ({last_sql} - to_months(k::INTEGER))::DATE AS origin
               FROM range({first_back}, {last_back + 1}) r(k)"""


@dataclass(frozen=True)
class BacktestScore:
    """One method's error over the backtest: sMAPE and bias in percent, interval coverage (all
    empty without a single forecast to compare; coverage empty for a method without interval)."""

    method: str
    origins: int
    points: int
    smape: float | None
    bias: float | None
    coverage: float | None

    def as_dict(self) -> dict:
        return asdict(self)


def build_sales_forecast(con: duckdb.DuckDBPyConnection, cfg: ForecastConfig, as_of: date) -> int:
    """Create ``marts.sales_forecast`` from ``marts.orders`` and the master."""
    _series(con, as_of)
    _origins(
        con, _origin_range(last_complete_month(as_of), 0, CALIBRATION_ORIGINS + cfg.horizon_months)
    )
    _forecasts(con, "__model", model_sql(cfg.horizon_months))
    rows = _write_forecast(con, cfg, as_of)
    _drop(con)
    return rows


def build_sales_forecast_and_backtest(
    con: duckdb.DuckDBPyConnection, cfg: ForecastConfig, as_of: date
) -> tuple[int, list[BacktestScore]]:
    """:func:`build_sales_forecast` and :func:`backtest` on one monthly series and one run of
    the model over the origins of both (a forecast from an origin reads only the months up to
    it, whatever other origins are computed beside it): the same table and scores, the orders
    aggregated and the model run once instead of twice."""
    h = cfg.horizon_months
    _series(con, as_of)
    oldest = max(CALIBRATION_ORIGINS + h, _backtest_oldest(cfg))
    _origins(con, _origin_range(last_complete_month(as_of), 0, oldest))
    _forecasts(con, "__model", model_sql(h))
    rows = _write_forecast(con, cfg, as_of)
    scores = _score_backtest(con, cfg, as_of)
    _drop(con)
    return rows, scores


def _write_forecast(con: duckdb.DuckDBPyConnection, cfg: ForecastConfig, as_of: date) -> int:
    """``marts.sales_forecast`` from the last complete month, from ``__sales_series`` and the
    model's forecasts (``__model``, from every origin the interval is calibrated on)."""
    last = last_complete_month(as_of)
    target = f"SELECT {last} AS origin"
    return create_table(
        con,
        "marts",
        "sales_forecast",
        f"""SELECT $as_of AS as_of, f.origin AS last_complete_month, f.month,
                   nullif(f.province, '') AS province, nullif(f.product_line, '') AS product_line,
                   f.horizon, round(f.forecast, 2)::DECIMAL(18, 2) AS forecast,
                   round(f.lower, 2)::DECIMAL(18, 2) AS lower, round(f.upper, 2)::DECIMAL(18, 2) AS upper,
                   $interval AS interval,
                   (SELECT sum(revenue) FROM __sales_series s WHERE s.province = f.province
                      AND s.product_line = f.product_line
                      AND s.month = (f.month - INTERVAL 1 YEAR)::DATE)::DECIMAL(18, 2) AS revenue_year_before
            FROM ({_with_interval_sql(target, cfg)}) f
            ORDER BY province, product_line, month""",
        {"as_of": as_of, "interval": cfg.interval},
    )


def backtest(
    con: duckdb.DuckDBPyConnection, cfg: ForecastConfig, as_of: date
) -> list[BacktestScore]:
    """The model and the seasonal-naive baseline, forecasting from each of the last
    ``backtest_origins`` origins whose next ``horizon_months`` are complete by ``as_of``."""
    _series(con, as_of)
    h = cfg.horizon_months
    _origins(con, _origin_range(last_complete_month(as_of), h, _backtest_oldest(cfg)))
    _forecasts(con, "__model", model_sql(h))
    scores = _score_backtest(con, cfg, as_of)
    _drop(con)
    return scores


def _backtest_oldest(cfg: ForecastConfig) -> int:
    """Months before the last complete month of the oldest origin the backtest reads: its
    oldest target, and the calibration origins before that."""
    h = cfg.horizon_months
    return h + cfg.backtest_origins - 1 + CALIBRATION_ORIGINS + h


def _score_backtest(
    con: duckdb.DuckDBPyConnection, cfg: ForecastConfig, as_of: date
) -> list[BacktestScore]:
    """The backtest's scores from ``__sales_series`` and the model's forecasts (``__model``,
    from at least the backtest's origins and those before them)."""
    last, h = last_complete_month(as_of), cfg.horizon_months
    targets = _origin_range(last, h, h + cfg.backtest_origins - 1)
    _forecasts(
        con,
        "__naive",
        f"SELECT *, NULL::DOUBLE AS lower, NULL::DOUBLE AS upper FROM ({seasonal_naive_sql(h)}) JOIN ({targets}) USING (origin)",
    )
    _forecasts(con, "__banded", _with_interval_sql(targets, cfg))
    scores = []
    for method, table in (("seasonal_level_trend", "__banded"), ("seasonal_naive", "__naive")):
        row = con.execute(f"""
            SELECT count(DISTINCT f.origin), count(*),
                   100 * avg(CASE WHEN abs(f.forecast) + abs(s.revenue) = 0 THEN 0
                                  ELSE 2 * abs(f.forecast - s.revenue) / (abs(f.forecast) + abs(s.revenue)) END),
                   100 * (sum(f.forecast) / nullif(sum(s.revenue), 0) - 1),
                   100 * avg((round(s.revenue, 2) BETWEEN round(f.lower, 2) AND round(f.upper, 2))::INTEGER)
            FROM {table} f JOIN __sales_series s USING (province, product_line, month)
        """).fetchone()
        assert row is not None
        origins, points, smape, bias, coverage = row
        scores.append(BacktestScore(method, origins, points, *(None if v is None else round(v, 1)
                                                               for v in (smape, bias, coverage))))  # fmt: skip
    return scores


def _drop(con: duckdb.DuckDBPyConnection) -> None:
    for temp in ("__sales_series", "__origins", "__model", "__naive", "__banded"):
        con.execute(f"DROP TABLE IF EXISTS {temp}")
