"""Live reload under load: requests keep coming while a new sync publishes; none fails, each
answers wholly from one sync, and once the new sync serves, the old one never answers again."""

import shutil
import socket
import threading
import time
from pathlib import Path

import duckdb
import httpx
import pyarrow as pa
import pyarrow.compute as pc
import pytest
import uvicorn

from service.api import create_app
from service.reload import SnapshotHolder
from warehouse.serving import TABLES, publishing, read_pointer

MARK = "（B）"


def publish_renamed_copy(serving_dir: Path, run_id: str) -> None:
    """Publish the current index again as ``run_id`` with every name marked: a second sync
    whose answers can be told apart from the first one's in every field that shows a name."""
    current = read_pointer(serving_dir)
    assert current is not None
    with publishing(serving_dir, run_id, current_time()) as (folder, contents):
        contents.update({k: v for k, v in current.contents.items() if k not in contents})
        for path in current.folder.iterdir():
            if path.name != "serving.json":
                shutil.copy(path, folder / path.name)
        with duckdb.connect(str(folder / TABLES)) as con:
            con.execute("UPDATE customers SET name = name || ?", [MARK])
        for name in ("check_company_records.arrow", "check_person_records.arrow"):
            table = pa.ipc.open_file(pa.BufferReader((folder / name).read_bytes())).read_all()
            at = table.column_names.index("__name")
            marked = pc.binary_join_element_wise(table.column("__name"), pa.scalar(MARK), "")
            with pa.ipc.new_file(str(folder / name), table.schema) as writer:
                writer.write_table(table.set_column(at, "__name", marked))


def current_time():
    from datetime import UTC, datetime

    return datetime.now(UTC)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(demo_run, tmp_path):
    serving_dir = Path(shutil.copytree(demo_run.folder / "out" / "serving", tmp_path / "serving"))
    holder = SnapshotHolder(serving_dir, reload_seconds=0.1)
    holder.start()
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(holder), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield serving_dir, holder, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    holder.close()


def test_requests_during_a_swap_never_fail_nor_mix_two_syncs(served):
    serving_dir, holder, url = served
    first = holder.current.run_id
    customer = holder.current.customers.search("有限公司", 1)[0]
    name = customer["name"]
    outcomes: list[tuple[str, str, bool]] = []  # (client, run_id, answer consistent)
    errors: list[str] = []
    stop = threading.Event()

    def client(number: int) -> None:
        with httpx.Client(base_url=url, timeout=30) as http:
            for turn in range(2000):  # bounded: the test stops the loop long before
                if stop.is_set():
                    return
                try:
                    if turn % 2:
                        answer = http.get(f"/v1/customers/{customer['customer_id']}")
                        shown = [answer.json()["golden"]["name"]]
                    else:
                        answer = http.post(
                            "/v1/check", json={"name": name, "entity_type": "company"}
                        )
                        shown = [c["name"] for c in answer.json()["candidates"]]
                except Exception as exc:  # a refused or broken connection is a failure too
                    errors.append(f"client {number}: {exc!r}")
                    return
                if answer.status_code != 200:
                    errors.append(f"client {number}: {answer.status_code} {answer.text[:200]}")
                    return
                run_id = answer.json()["run_id"]
                marked = run_id != first
                consistent = bool(shown) and all((MARK in s) == marked for s in shown if s)
                outcomes.append((f"client {number}", run_id, consistent))

    clients = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for thread in clients:
        thread.start()
    time.sleep(1.0)
    publish_renamed_copy(serving_dir, "second-sync")
    deadline = time.monotonic() + 60
    while holder.current.run_id == first and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)  # requests go on against the new sync
    stop.set()
    for thread in clients:
        thread.join(timeout=60)

    assert not errors, errors[:5]
    assert holder.current.run_id == "second-sync"
    runs = [run for _, run, _ in outcomes]
    assert first in runs and "second-sync" in runs, "the requests did not span the swap"
    assert all(consistent for _, _, consistent in outcomes)
    for number in range(4):
        seen = [run for who, run, _ in outcomes if who == f"client {number}"]
        swapped_at = seen.index("second-sync") if "second-sync" in seen else len(seen)
        assert first not in seen[swapped_at:], "a client saw the old sync after the new one"


def test_a_new_index_that_fails_to_load_leaves_the_current_one_serving(demo_run, tmp_path):
    serving_dir = Path(shutil.copytree(demo_run.folder / "out" / "serving", tmp_path / "serving"))
    holder = SnapshotHolder(serving_dir)
    try:
        first = holder.current.run_id
        publish_renamed_copy(serving_dir, "broken-sync")
        pointer = read_pointer(serving_dir)
        assert pointer is not None
        (pointer.folder / TABLES).write_bytes(b"not a database")
        assert holder.refresh() is False
        assert holder.current.run_id == first
        assert holder.current.customers.search("有限公司", 1)
    finally:
        holder.close()
