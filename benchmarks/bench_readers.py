"""Benchmark: how fast the readers turn export files into tables of text.

Writes deterministic synthetic customer exports (20 columns of mostly Chinese text,
phone numbers and IDs with leading zeros) into a temporary folder, then reads each
one in a fresh process per repetition and prints rows/s (median of the runs):

* UTF-8 CSV with a byte-order mark, and GB18030 CSV (default 1,000,000 rows),
* the GB18030 CSV with ten rows of the wrong width (the slow path: parsed twice),
* an XLSX workbook written by xlsxwriter in constant_memory mode (default 200,000 rows),
* a Parquet file with typed columns (default 1,000,000 rows).

    .venv/bin/python benchmarks/bench_readers.py --rows 1000000 --xlsx-rows 200000 --runs 3
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

log = logging.getLogger("bench_readers")

HEADER = [
    "客户编号", "客户名称", "联系人", "手机", "电话", "邮箱", "省份", "城市", "区县", "详细地址",
    "行业", "客户类别", "获客渠道", "负责人", "信用额度", "统一社会信用代码", "上级公司", "推荐人",
    "创建日期", "备注",
]  # fmt: skip
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程"
)
_GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红梅玉兰〇囧燊淼鑫"
_PLACES = [
    ("福建省", "厦门市", "思明区", "0592"), ("广东省", "深圳市", "南山区", "0755"),
    ("浙江省", "杭州市", "西湖区", "0571"), ("江苏省", "南京市", "鼓楼区", "025"),
    ("北京市", "北京市", "海淀区", "010"), ("上海市", "上海市", "浦东新区", "021"),
    ("四川省", "成都市", "武侯区", "028"), ("湖北省", "武汉市", "洪山区", "027"),
]  # fmt: skip
_WORDS = "华宏鑫源盛达恒通瑞丰泰安信诚联创科技贸易实业发展电子机械食品物流建材医药"
_FORMS = ["有限公司", "股份有限公司", "贸易商行", "科技有限公司", "集团有限公司"]
_INDUSTRY = ["制造业", "批发和零售业", "信息技术", "建筑业", "餐饮业", "物流运输"]


def synthetic_rows(n: int, seed: int = 20261122) -> list[list[str]]:
    """Deterministic customer-export rows (all text, as a department would send them)."""
    rng = random.Random(seed)
    companies = [
        "".join(rng.choices(_WORDS, k=rng.randint(2, 4))) + rng.choice(_FORMS) for _ in range(20000)
    ]
    people = [
        rng.choice(_SURNAMES) + "".join(rng.choices(_GIVEN, k=rng.randint(1, 2)))
        for _ in range(20000)
    ]
    streets = [f"{''.join(rng.choices(_WORDS, k=2))}路{rng.randint(1, 999)}号" for _ in range(5000)]
    start = date(2015, 1, 1)
    rows = []
    for i in range(n):
        province, city, district, area = _PLACES[i % len(_PLACES)]
        rows.append([
            f"{i:08d}", companies[rng.randrange(20000)], people[rng.randrange(20000)],
            f"1{rng.randint(3, 9)}{rng.randrange(10**9):09d}", f"{area}-{rng.randrange(10**7, 10**8)}",
            f"c{i}@example.cn", province, city, district, f"{city}{district}{streets[rng.randrange(5000)]}",
            _INDUSTRY[i % 6], "重点客户" if i % 7 == 0 else "普通客户", "经销商", people[i % 20000],
            str(rng.randrange(1000, 500000)), f"91350200{rng.randrange(10**9):09d}X",
            companies[(i * 7) % 20000] if i % 5 == 0 else "", people[(i * 3) % 20000] if i % 4 == 0 else "",
            (start + timedelta(days=i % 3000)).isoformat(), "老客户，需回访" if i % 9 == 0 else "",
        ])  # fmt: skip
    return rows


def write_files(folder: Path, rows: int, xlsx_rows: int) -> dict[str, Path]:
    """Write the four benchmark files; return format label → path."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    import xlsxwriter

    data = synthetic_rows(rows)
    text = "\n".join(",".join(r) for r in [HEADER, *data]) + "\n"
    files = {"utf-8-sig csv": folder / "utf8.csv", "gb18030 csv": folder / "gb18030.csv"}
    files["utf-8-sig csv"].write_bytes(text.encode("utf-8-sig"))
    files["gb18030 csv"].write_bytes(text.encode("gb18030"))
    lines = text.split("\n")
    for i in range(len(lines) // 10, len(lines) - 1, len(lines) // 10):
        lines[i] += ",多余字段"  # ten rows with one field too many
    files["gb18030 ragged"] = folder / "gb18030_ragged.csv"
    files["gb18030 ragged"].write_bytes("\n".join(lines).encode("gb18030"))
    del text, lines

    columns = {name: [r[j] or None for r in data] for j, name in enumerate(HEADER)}
    columns["信用额度"] = [float(v) for v in columns["信用额度"]]
    columns["创建日期"] = [date.fromisoformat(v) for v in columns["创建日期"]]
    files["parquet"] = folder / "customers.parquet"
    pq.write_table(pa.table(columns), files["parquet"])

    files["xlsx"] = folder / "customers.xlsx"
    workbook = xlsxwriter.Workbook(str(files["xlsx"]), {"constant_memory": True})
    sheet = workbook.add_worksheet("客户")
    as_date = workbook.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, HEADER)
    for i, row in enumerate(data[:xlsx_rows], start=1):
        sheet.write_row(i, 0, row[:14])
        sheet.write_number(i, 14, float(row[14]))
        sheet.write_row(i, 15, row[15:18])
        sheet.write_datetime(i, 18, date.fromisoformat(row[18]), as_date)
        sheet.write_string(i, 19, row[19])
    workbook.close()
    return files


def one_run(path: Path) -> None:
    """Read one file in this process; print seconds and rows as JSON-ish text."""
    import pyarrow as pa

    from sources.readers import read_export

    pa.array([""])  # pyarrow imports pandas on first use: a one-off start-up cost, not reading
    started = time.perf_counter()
    result = read_export(path)
    seconds = time.perf_counter() - started
    sys.stdout.write(
        f"{seconds:.6f} {result.table.num_rows} {len(result.rejected)} {result.encoding}\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--xlsx-rows", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one_run(args.one)
        return
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with tempfile.TemporaryDirectory(prefix="bench_readers_") as tmp:
        started = time.perf_counter()
        files = write_files(Path(tmp), args.rows, args.xlsx_rows)
        log.info("wrote benchmark files in %.1f s", time.perf_counter() - started)
        for label, path in files.items():
            timings, rows, rejected, encoding = [], 0, 0, ""
            for _ in range(args.runs):
                out = subprocess.run(
                    [sys.executable, __file__, "--one", str(path)],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout.split()
                timings.append(float(out[0]))
                rows, rejected, encoding = int(out[1]), int(out[2]), out[3]
            median = statistics.median(timings)
            size_mb = path.stat().st_size / 1e6
            log.info(
                "%-14s %9d rows (+%d rejected) %7.1f MB  median %.2f s  %10.0f rows/s  (runs: %s; %s)",
                label, rows, rejected, size_mb, median, rows / median, ", ".join(f"{t:.2f}" for t in timings), encoding,
            )  # fmt: skip


if __name__ == "__main__":
    main()
