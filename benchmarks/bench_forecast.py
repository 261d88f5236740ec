"""Forecast backtest: the sales forecast's error beside the seasonal-naive baseline.

Reads a deployment's warehouse after a run (default: the demo's, ``make demo``) and, from
each of the last ``marts.forecast.backtest_origins`` months whose next
``horizon_months`` are complete by ``as_of``, forecasts every province and product line
with the mart's model and with the seasonal naive forecast (the same month a year
before), then compares with what was sold: sMAPE, bias and the interval's coverage.

    .venv/bin/python benchmarks/bench_forecast.py [--config config/demo.yaml]
"""

from __future__ import annotations

import argparse
import logging
from datetime import date

import duckdb

from sources.config import load_config
from warehouse import marts

log = logging.getLogger(__name__)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="config/demo.yaml")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    config = load_config(args.config)
    as_of = marts.marts_as_of(config, date.today())
    forecast = config.marts.forecast
    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        scores = marts.backtest(con, forecast, as_of)
        series = con.execute(
            """SELECT count(DISTINCT (coalesce(c.province, ''), coalesce(o.product_line, o.product, '')))
               FROM marts.orders o LEFT JOIN master.customers c USING (customer_id)"""
        ).fetchone()
    log.info(
        "backtest on %s as of %s: %d series (province × product line), origins: the last %d "
        "complete months with %d months after them, horizons 1-%d, interval %.0f%%",
        config.warehouse_path, as_of, series[0] if series else 0, forecast.backtest_origins,
        forecast.horizon_months, forecast.horizon_months, 100 * forecast.interval,
    )  # fmt: skip
    log.info("%-22s %8s %8s %9s %9s", "method", "points", "sMAPE %", "bias %", "coverage %")
    for s in scores:
        log.info("%-22s %8d %8s %9s %9s", s.method, s.points, _shown(s.smape, "{:.1f}"),
                 _shown(s.bias, "{:+.1f}"), _shown(s.coverage, "{:.1f}"))  # fmt: skip


def _shown(value: float | None, form: str) -> str:
    return "-" if value is None else form.format(value)


if __name__ == "__main__":
    main()
