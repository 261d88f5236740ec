"""Benchmark: the HTTP service (``custmaster serve``) on a master of N source records.

1. The demo exports of about N records (``bench_ingest_standardise.generate``, cached under
   benchmarks/.cache) go through the whole pipeline once (``custmaster run``), which
   publishes the serving index.
2. Probes are drawn from the master's current source records and **held back**: a serving
   index is published from the same warehouse without them (``write_check_files`` on the
   other records), so no probe can find itself.
   - existing customers: a held-back record of a customer that keeps other records;
   - new customers: the only record of a customer, so the customer is absent.
   Each probe is typed as a person would: phones in another national format
   (``0592-5551234``, ``(0592)555 1234``, ``+86 138 0013 8000``), and one of: the name in
   traditional script, one field left out, a typo in the name (one character replaced).
3. ``custmaster serve`` starts on that index in a fresh process; start-up is the time from
   the process starting to the first ``/health`` 200.
4. Every probe is sent to ``POST /v1/check`` by 1 client, then by 8 concurrent clients.

Prints p50 / p95 / p99 latency (as the client sees it, HTTP included), throughput, top-1
hit rate on existing customers (per kind of typing), the share of new customers with a
candidate at probability ≥ 0.9 (wrongly matched) and the machine's load average.
``bench_lookup.py`` times the engine alone on the same index and probes.

    .venv/bin/python benchmarks/bench_service.py --records 100000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

KINDS = ("traditional script", "a field left out", "a typo in the name")
TYPO = "甲乙丙丁戊己庚辛壬癸"


def pipeline(records: int, seed: int) -> Path:
    """The config of the cached demo of about ``records`` records after one pipeline run."""
    from bench_ingest_standardise import generate

    folder = generate(records, seed)
    config = folder / "customer_master.yaml"
    if not (folder / "out" / "serving" / "CURRENT.json").exists():
        started = time.perf_counter()
        subprocess.run(
            [str(ROOT / ".venv" / "bin" / "custmaster"), "run", "--config", str(config)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        print(f"pipeline run once in {time.perf_counter() - started:.0f} s", flush=True)
    return config


def held_back_index(config_path: Path, probes: int, seed: int) -> tuple[Path, list[dict]]:
    """Publish a serving index without the probes' records; the probes with their answers."""
    import duckdb

    from matching.check_store import write_check_files
    from matching.duplicate_check import master_records
    from matching.linkage import junk_rules, models_in_use
    from sources.config import load_config
    from warehouse.serving import TABLES, publishing, read_pointer, write_tables

    config = load_config(config_path)
    serving_dir = config.output_path / f"serving-held-back-{probes}-{seed}"
    cases_path = serving_dir / "probes.json"
    pointer = read_pointer(serving_dir)
    if cases_path.exists() and pointer is not None and (pointer.folder / TABLES).exists():
        return serving_dir, json.loads(cases_path.read_text(encoding="utf-8"))
    con = duckdb.connect(str(config.warehouse_path), read_only=True)
    records = master_records(con)
    own = records[~records["record_key"].str.endswith(":contact")]
    per_customer = records.groupby("customer_id")["record_key"].transform("size")
    rng = random.Random(seed)
    existing = own[per_customer[own.index] >= 2]
    new = own[per_customer[own.index] == 1]
    existing = existing.iloc[rng.sample(range(len(existing)), probes)]
    existing = existing.drop_duplicates("customer_id")  # one record held back per customer
    new = new.iloc[rng.sample(range(len(new)), probes // 2)]
    held = set(existing["record_key"]) | set(new["record_key"])
    models = {c.version.entity_type: c.version.load() for c in models_in_use(con)}
    started = time.perf_counter()
    with publishing(serving_dir, "held-back", datetime.now(UTC)) as (folder, contents):
        contents["tables"] = write_tables(con, folder)
        kept = records[~records["record_key"].isin(held)]
        contents["check_records"] = write_check_files(
            folder, kept, models, junk_rules(config.matching)
        )
    con.close()
    print(f"published the held-back index in {time.perf_counter() - started:.0f} s", flush=True)
    cases = [typed(row, "existing", rng) for row in existing.to_dict("records")]
    cases += [typed(row, "new", rng) for row in new.to_dict("records")]
    cases_path.write_text(json.dumps(cases, ensure_ascii=False), encoding="utf-8")
    return serving_dir, cases


def typed(row: dict, kind: str, rng: random.Random) -> dict:
    """The record as a person would type it again into a CRM form."""
    import opencc

    fields = {
        "name": row["name_raw"] or row["name"],
        "phone": other_format(row["phone"], rng),
        "mobile": other_format(row["mobile"], rng),
        "email": row["email"],
        "address": row["address_raw"],
        "uscc": row["uscc"],
    }
    fields = {k: v for k, v in fields.items() if isinstance(v, str) and v}
    how = rng.choice(KINDS)
    if how == "traditional script":
        fields["name"] = opencc.OpenCC("s2t").convert(fields["name"])
    elif how == "a field left out":
        optional = [k for k in fields if k != "name"]
        if optional:
            del fields[rng.choice(optional)]
    else:
        at = rng.randrange(len(fields["name"]))
        fields["name"] = fields["name"][:at] + rng.choice(TYPO) + fields["name"][at + 1 :]
    return {
        "kind": kind,
        "typed": how,
        "fields": fields,
        "entity_type": row["entity_type"],
        "customer_id": row["customer_id"],
    }


def other_format(e164: object, rng: random.Random) -> str | None:
    """An E.164 number as people write it: 0592-5551234, (0592)555 1234, +86 138 0013 8000."""
    if not isinstance(e164, str) or not e164:
        return None
    import phonenumbers

    number = phonenumbers.parse(e164)
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    digits = national.replace(" ", "")
    style = rng.randrange(3)
    if style == 0:
        return national.replace(" ", "-", 1).replace(" ", "")
    if style == 1 and digits.startswith("0") and len(digits) > 8:
        area = 4 if digits[1] not in "12" else 3
        return f"({digits[:area]}){digits[area : area + 3]} {digits[area + 3 :]}"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def start_service(config_path: Path, serving_dir: Path) -> tuple[subprocess.Popen, str, float]:
    """``custmaster serve`` on ``serving_dir``; the process, its URL, seconds to first 200."""
    import httpx
    import yaml

    # the deployment's own config, serving the held-back index (beside it: same relative paths)
    data = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    data["serve"] = {"dir": str(serving_dir)}
    bench_config = config_path.with_name("serve_bench.yaml")
    bench_config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "custmaster"), "serve", "--config", str(bench_config),
         "--port", str(port)],
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = started + 600
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"custmaster serve exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return process, url, time.perf_counter() - started
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    process.kill()
    raise RuntimeError("custmaster serve did not answer within 600 s")


def send(url: str, cases: list[dict], clients: int) -> tuple[list[float], list[dict], float]:
    """Every case to POST /v1/check from ``clients`` threads; latencies, answers, wall time."""
    import httpx

    def one(http: httpx.Client, case: dict) -> tuple[float, dict]:
        body = case["fields"] | {"entity_type": case["entity_type"]}
        started = time.perf_counter()
        answer = http.post("/v1/check", json=body)
        elapsed = time.perf_counter() - started
        answer.raise_for_status()
        return elapsed, answer.json()

    chunks = [cases[i::clients] for i in range(clients)]

    def run(chunk: list[dict]) -> list[tuple[int, float, dict]]:
        with httpx.Client(base_url=url, timeout=60) as http:
            return [(cases.index(c), *one(http, c)) for c in chunk]

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = [r for part in pool.map(run, chunks) for r in part]
    wall = time.perf_counter() - started
    results.sort(key=lambda r: r[0])
    return [r[1] for r in results], [r[2] for r in results], wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--probes", type=int, default=400, help="existing-customer probes")
    args = parser.parse_args()

    config = pipeline(args.records, args.seed)
    serving_dir, cases = held_back_index(config, args.probes, args.seed)
    load_before = os.getloadavg()[0]
    process, url, startup = start_service(config, serving_dir)
    try:
        health = json.loads(__import__("httpx").get(f"{url}/health").text)
        send(url, cases[:20], 1)  # warm the connection pools, not the index
        figures = {clients: send(url, cases, clients) for clients in (1, 8)}
    finally:
        process.terminate()
        process.wait(timeout=30)

    print(
        f"machine: {os.cpu_count()} cores, {platform.machine()}, Python "
        f"{platform.python_version()}; load average {load_before:.1f} before, "
        f"{os.getloadavg()[0]:.1f} after"
    )
    print(
        f"master: {health['rows']['records']:,} source records, "
        f"{health['rows']['customers']:,} customers"
    )
    print(
        f"start-up of custmaster serve (process start to first /health 200): {startup:.1f} s "
        f"(index loaded in {health['load_seconds']:.1f} s)"
    )
    _, answers, _ = figures[1]
    existing = [(c, a) for c, a in zip(cases, answers, strict=True) if c["kind"] == "existing"]
    new = [(c, a) for c, a in zip(cases, answers, strict=True) if c["kind"] == "new"]
    hit = [
        bool(a["candidates"]) and a["candidates"][0]["customer_id"] == c["customer_id"]
        for c, a in existing
    ]
    wrong = [any(x["probability"] >= 0.9 for x in a["candidates"]) for _, a in new]
    print(
        f"existing customers ({len(existing)}, own record held back): top-1 hit rate "
        f"{sum(hit) / len(hit):.1%}"
    )
    for how in KINDS:
        of_kind = [h for (c, _), h in zip(existing, hit, strict=True) if c["typed"] == how]
        if of_kind:
            print(f"    {how:<20} {sum(of_kind) / len(of_kind):.1%} of {len(of_kind)}")
    print(
        f"new customers ({len(new)}): wrongly matched (a candidate >= 0.9) "
        f"{sum(wrong) / len(wrong):.1%}"
    )
    for clients, (latencies, _, wall) in figures.items():
        q = statistics.quantiles(latencies, n=100)
        print(
            f"{clients} client(s): p50 {statistics.median(latencies) * 1000:.1f} ms  "
            f"p95 {q[94] * 1000:.1f} ms  p99 {q[98] * 1000:.1f} ms  "
            f"throughput {len(latencies) / wall:.1f} checks/s"
        )


if __name__ == "__main__":
    main()
