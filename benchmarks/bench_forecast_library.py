"""Forecast backtest against a time-series library: statsforecast beside the mart's model.

The same backtest as ``benchmarks/bench_forecast.py`` (``marts.backtest``): the same series
(revenue per province × product line and calendar month, 0 where nothing sold), the same
origins (the last ``marts.forecast.backtest_origins`` months whose next ``horizon_months``
are complete by ``as_of``), horizons 1..``horizon_months``, each forecast made with only the
months up to its origin, and the same sMAPE (mean of 2·|F − A| ÷ (|F| + |A|), 0 when both
are 0) and bias (ΣF ÷ ΣA − 1). statsforecast fits AutoETS, AutoARIMA and AutoTheta (season
12) and its SeasonalNaive per series and origin; their forecasts are floored at 0 like the
mart's model (revenue is not negative).

statsforecast is not a project dependency (it is heavy), so this runs in two steps:

1. ``export``, in the project's environment: the project's own code builds the series
   (``warehouse.marts.forecast._series``), the origins and the mart's model and
   seasonal-naive forecasts from them, and writes them with the ``marts.backtest`` figures
   to a folder (Parquet and JSON);
2. ``compare``, in a throwaway environment with statsforecast (no project import): forecasts
   the exported series from the exported origins and prints every method's figures. The
   mart's forecasts are scored again with the same query as ``marts.backtest`` and must
   give its figures (checked), and statsforecast's SeasonalNaive must give the mart's
   seasonal naive: both show that the series, origins and scoring are the same.

    .venv/bin/python benchmarks/bench_forecast_library.py export \\
        [--config config/demo.yaml] [--out /tmp/forecast_backtest]
    python3 -m venv /tmp/sfenv
    /tmp/sfenv/bin/pip install statsforecast duckdb pandas pyarrow
    /tmp/sfenv/bin/python benchmarks/bench_forecast_library.py compare \\
        [--data /tmp/forecast_backtest]

Nothing here reaches the network (installing statsforecast does, once).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

log = logging.getLogger(__name__)

MART_METHODS = ("seasonal_level_trend", "seasonal_naive")
SEASON = 12


def export(config_path: str, out: Path) -> None:
    """Step 1 (project environment): series, origins, the mart's forecasts and figures."""
    from datetime import date

    import duckdb

    from sources.config import load_config
    from warehouse import marts
    from warehouse.marts import forecast as fc
    from warehouse.marts.forecast_model import model_sql, seasonal_naive_sql

    config = load_config(config_path)
    as_of = marts.marts_as_of(config, date.today())
    cfg = config.marts.forecast
    h = cfg.horizon_months
    out.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        scores = marts.backtest(con, cfg, as_of)
        # the backtest's series and target origins, made by the same functions
        fc._series(con, as_of)
        targets = fc._origin_range(fc.last_complete_month(as_of), h, h + cfg.backtest_origins - 1)
        fc._origins(con, targets)
        fc._forecasts(con, "__model", model_sql(h))
        fc._forecasts(con, "__naive", seasonal_naive_sql(h))
        con.execute(f"COPY __sales_series TO '{out / 'series.parquet'}' (FORMAT parquet)")
        con.execute(f"COPY __origins TO '{out / 'origins.parquet'}' (FORMAT parquet)")
        con.execute(f"""
            COPY (SELECT '{MART_METHODS[0]}' AS method, origin, province, product_line, horizon, month, forecast FROM __model
                  UNION ALL
                  SELECT '{MART_METHODS[1]}', origin, province, product_line, horizon, month, forecast FROM __naive)
            TO '{out / 'mart_forecasts.parquet'}' (FORMAT parquet)
        """)  # fmt: skip
        series, months = con.execute(
            "SELECT count(DISTINCT (province, product_line)), count(DISTINCT month) FROM __sales_series"
        ).fetchone() or (0, 0)
        fc._drop(con)
    meta = {
        "warehouse": str(config.warehouse_path),
        "as_of": as_of.isoformat(),
        "horizon_months": h,
        "backtest_origins": cfg.backtest_origins,
        "series": series,
        "months": months,
        "backtest": [s.as_dict() for s in scores],
    }
    (out / "backtest.json").write_text(json.dumps(meta, indent=2))
    log.info("exported %d series × %d months, %d origins and the mart's forecasts to %s",
             series, months, cfg.backtest_origins, out)  # fmt: skip


def _library_forecasts(data: Path, h: int):
    """statsforecast's forecasts from every origin, long: method, origin, unique_id, month, forecast."""
    import pandas as pd
    from statsforecast import StatsForecast
    from statsforecast.models import AutoARIMA, AutoETS, AutoTheta, SeasonalNaive

    series = pd.read_parquet(data / "series.parquet")
    series["unique_id"] = series["province"] + "|" + series["product_line"]
    series["ds"] = pd.to_datetime(series["month"])
    series = series.rename(columns={"revenue": "y"})[["unique_id", "ds", "y"]]
    origins = pd.to_datetime(pd.read_parquet(data / "origins.parquet")["origin"]).sort_values()
    frames, seconds = [], {}
    for origin in origins:
        train = series[series["ds"] <= origin]
        for model in (
            AutoETS(season_length=SEASON),
            AutoARIMA(season_length=SEASON),
            AutoTheta(season_length=SEASON),
            SeasonalNaive(season_length=SEASON),
        ):
            name = f"statsforecast {model}"
            start = time.perf_counter()
            sf = StatsForecast(models=[model], freq="MS", n_jobs=1)
            out = sf.forecast(df=train, h=h)
            seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - start
            if "unique_id" not in out.columns:  # older statsforecast: unique_id is the index
                out = out.reset_index()
            value = next(c for c in out.columns if c not in ("unique_id", "ds"))
            frames.append(
                pd.DataFrame(
                    {
                        "method": name,
                        "origin": origin.date(),
                        "unique_id": out["unique_id"].astype(str),
                        "month": pd.to_datetime(out["ds"]).dt.date,
                        "forecast": out[value].astype(float),
                    }
                )
            )
    return pd.concat(frames, ignore_index=True), seconds


def compare(data: Path) -> None:
    """Step 2 (throwaway environment with statsforecast): every method's sMAPE and bias."""
    import duckdb
    import statsforecast

    meta = json.loads((data / "backtest.json").read_text())
    h = meta["horizon_months"]
    lib, seconds = _library_forecasts(data, h)
    con = duckdb.connect()
    con.execute(f"CREATE TABLE series AS SELECT * FROM read_parquet('{data / 'series.parquet'}')")
    con.register("lib", lib)
    con.execute(f"""
        CREATE TABLE forecasts AS
        SELECT method, origin, province, product_line, month, forecast
        FROM read_parquet('{data / 'mart_forecasts.parquet'}')
        UNION ALL
        SELECT l.method, l.origin, k.province, k.product_line, l.month, greatest(l.forecast, 0)
        FROM lib l JOIN (SELECT DISTINCT province, product_line,
                                province || '|' || product_line AS unique_id FROM series) k USING (unique_id)
    """)  # fmt: skip
    # the scoring query of warehouse.marts.forecast.backtest, per method
    rows = con.execute("""
        SELECT f.method, count(DISTINCT f.origin), count(*),
               100 * avg(CASE WHEN abs(f.forecast) + abs(s.revenue) = 0 THEN 0
                              ELSE 2 * abs(f.forecast - s.revenue) / (abs(f.forecast) + abs(s.revenue)) END),
               100 * (sum(f.forecast) / nullif(sum(s.revenue), 0) - 1)
        FROM forecasts f JOIN series s USING (province, product_line, month)
        GROUP BY f.method ORDER BY 4
    """).fetchall()  # fmt: skip
    mart = {s["method"]: s for s in meta["backtest"]}
    for method, _, points, smape, bias in rows:
        if method in mart:
            expected = (mart[method]["points"], mart[method]["smape"], mart[method]["bias"])
            got = (points, round(smape, 1), round(bias, 1))
            if got != expected:
                raise SystemExit(f"{method}: scored {got} here, marts.backtest says {expected}")
    log.info(
        "backtest on %s as of %s: %d series (province × product line), %d months of history at "
        "most, origins: the last %d complete months with %d months after them, horizons 1-%d; "
        "statsforecast %s; the mart's figures reproduce marts.backtest's",
        meta["warehouse"], meta["as_of"], meta["series"], meta["months"],
        meta["backtest_origins"], h, h, statsforecast.__version__,
    )  # fmt: skip
    log.info("%-32s %8s %8s %9s %9s", "method", "points", "sMAPE %", "bias %", "fit s")
    for method, _, points, smape, bias in rows:
        shown = "-" if method not in seconds else f"{seconds[method]:.1f}"
        log.info("%-32s %8d %8.1f %+9.1f %9s", method, points, smape, bias, shown)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    steps = parser.add_subparsers(dest="step", required=True)
    step = steps.add_parser("export", help="step 1, in the project's environment")
    step.add_argument("--config", default="config/demo.yaml")
    step.add_argument("--out", default="/tmp/forecast_backtest")
    step = steps.add_parser("compare", help="step 2, in an environment with statsforecast")
    step.add_argument("--data", default="/tmp/forecast_backtest")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.step == "export":
        export(args.config, Path(args.out))
    else:
        compare(Path(args.data))


if __name__ == "__main__":
    main()
