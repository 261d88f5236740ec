"""The service on the shared demo (``demo_run``): its serving index, loaded once per module."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.api import create_app
from service.reload import SnapshotHolder


@pytest.fixture(scope="module")
def serving_dir(demo_run) -> Path:
    return demo_run.folder / "out" / "serving"


@pytest.fixture(scope="module")
def holder(serving_dir) -> Iterator[SnapshotHolder]:
    holder = SnapshotHolder(serving_dir)
    yield holder
    holder.close()


@pytest.fixture(scope="module")
def client(holder) -> Iterator[TestClient]:
    with TestClient(create_app(holder), raise_server_exceptions=False) as client:
        yield client
