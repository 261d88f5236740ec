"""Staged records of one entity type, reshaped into what the matcher compares and blocks on.

The matcher never reads ``staging.customers`` directly. It reads a copy with:

- one name key per record (the company name core, or the person's name), its pinyin,
  its Latin-script form (``name_latin``: 'kuaixindiannao' for 快心电脑 and for 'Xiamen
  Kuaixin Computer'; 'zhang wei' for 张伟 and 'Zhang Wei') and character bigrams;
- whether a company is a branch ('branch' / 'not'), which a head office never is;
- identifiers (phone, mobile, e-mail, USCC, personal ID) with placeholders and values
  shared by too many records nulled (``*_block``: fit for blocking *and* comparing);
- every usable number of the record in one list (``phone_numbers``: phone, mobile and
  the further numbers its cells held, service numbers left out), the evidence that a
  number one record lists second is another record's only number;
- derived keys: landline tail, city and district qualified by their parents (鼓楼区 of
  Fuzhou is not 鼓楼区 of Nanjing), the street address without spaces ('解放路20号
  2516室' is '解放路20号2516室') and its street and number alone ('解放路20号'), and
  blocking-only keys (name prefix + city, pinyin + city, Latin form + city, name prefix
  + street address, name + birth date, Latin form + birth date, birth date) whose
  oversized values are nulled. The Latin-form keys
  replace the pinyin keys: for a Chinese name they group the same records (pinyin
  without spaces), and they also bring an English or pinyin spelling to its Chinese
  one; a person's is order-free ('wei zhang' for 'Zhang Wei' and 'Wei Zhang').

What was nulled, and why, comes back with the records (see ``matching.linkage.junk``). The
staged table itself is never changed. Text is held as Arrow-backed strings so that the
work stays vectorised at a million records.
"""

from __future__ import annotations

import logging
import re

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# ``X as X``: the prepared table's columns, read by many modules from here, where they were
# defined before they had a module of their own
from matching.linkage.caps import cap_shared_values
from matching.linkage.junk import JunkRules, drop_placeholders
from matching.linkage.prepared_table import BLOCK_KEY_COLUMNS as BLOCK_KEY_COLUMNS
from matching.linkage.prepared_table import GRAM_COLUMNS as GRAM_COLUMNS
from matching.linkage.prepared_table import (
    IDENTIFIER_COLUMNS,
    PLACEHOLDER_TYPE,
    PREPARED_SCHEMA,
    UNCAPPED_COLUMNS,
    UNCAPPED_SCHEMA,
    PreparedRecords,
)
from matching.linkage.prepared_table import LIST_COLUMNS as LIST_COLUMNS
from matching.linkage.prepared_table import PREPARED_COLUMNS as PREPARED_COLUMNS
from matching.linkage.prepared_table import SERVICE_NUMBER as SERVICE_NUMBER
from sources.schema import ENTITY_TYPES
from sources.standardise.addresses import STREET_AND_NUMBER
from sources.standardise.lookalikes import name_shapes

logger = logging.getLogger(__name__)

STRING = "string[pyarrow]"

#: Trailing digits that identify a landline when the area code differs (a local number
#: completed with another city's code). Part of the model's meaning: not a run-time knob.
PHONE_TAIL_DIGITS = 7
#: Characters of a Chinese name core that, with the city, form a block key (Latin: twice).
NAME_PREFIX_CHARS = 2

#: Staged columns the matcher reads.
REQUIRED_COLUMNS = (
    "record_key",
    "entity_type",
    "name",
    "name_core",
    "name_region",
    "legal_form",
    "name_pinyin",
    "name_latin",
    "is_branch",
    "uscc",
    "id_number",
    "gender",
    "birth_date",
    "phone",
    "mobile",
    "other_phones",
    "email",
    "province",
    "city",
    "district",
    "address_detail",
)
#: Staged columns the matcher reads when they are there (records staged before they
#: existed, or a caller's hand-made record, simply lack the evidence).
OPTIONAL_COLUMNS = ("postcode",)

#: Every staged column record preparation reads (a company row's contact mobile is one of
#: the company's numbers): a step that only prepares records reads only these.
MATCHING_COLUMNS = (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS, "contact_mobile")


def prepare_records(
    records: pd.DataFrame, entity_type: str, rules: JunkRules | None = None
) -> PreparedRecords:
    """Select one entity type's staged records and derive the matcher's columns: each
    record prepared on its own (:func:`prepare_uncapped`), then the values shared by too
    many of them nulled (``caps``).

    Args:
        records: staged customer records (``sources.schema.STAGED_COLUMNS``; at least
            ``REQUIRED_COLUMNS``); may hold both entity types.
        entity_type: 'company' or 'person'; only these records are prepared.
        rules: junk and block-size limits.

    Returns:
        The prepared records and the values that were suppressed.

    Raises:
        ValueError: unknown entity type, missing columns, or duplicate record keys.
    """
    return capped_records(prepare_uncapped(records, entity_type), entity_type, rules)


def capped_records(
    uncapped: pa.Table, entity_type: str, rules: JunkRules | None = None
) -> PreparedRecords:
    """Records prepared each on its own (:func:`prepare_uncapped`, ``UNCAPPED_COLUMNS``)
    with the values shared by too many of them nulled, counted over all of ``uncapped``:
    the second half of :func:`prepare_records`, for a caller that keeps uncapped rows."""
    positions = pa.array(np.arange(uncapped.num_rows, dtype=np.int64))
    with duckdb.connect() as con:
        con.execute("SET threads = 1")  # a few records at a time, often one
        con.register("uncapped", uncapped.append_column("position", positions))
        queries = cap_shared_values(con, "uncapped", rules or JunkRules())
        table = con.sql(queries.records()).to_arrow_table().cast(PREPARED_SCHEMA)
        suppressed = con.sql(queries.suppressed).df().drop(columns="entity_type")
    logger.info(
        "prepared %d %s records; %d values suppressed (%d records affected)",
        table.num_rows,
        entity_type,
        len(suppressed),
        int(suppressed["records"].sum()),
    )
    return PreparedRecords(table=table, suppressed=suppressed)


def prepare_uncapped(records: pd.DataFrame, entity_type: str) -> pa.Table:
    """One entity type's staged records prepared each on its own: ``UNCAPPED_COLUMNS``, in
    the order of ``records``. Placeholders are dropped (and listed per record); nothing
    is capped, so a record's row depends on its own staged values only.

    Raises:
        ValueError: unknown entity type, missing columns, or duplicate record keys.
    """
    if entity_type not in ENTITY_TYPES:
        raise ValueError(f"entity_type must be one of {ENTITY_TYPES}, got {entity_type!r}")
    missing = [c for c in REQUIRED_COLUMNS if c not in records.columns]
    if missing:
        raise ValueError(f"staged records lack column(s) needed for matching: {', '.join(missing)}")
    optional = [c for c in OPTIONAL_COLUMNS if c in records.columns]
    mine = (records["entity_type"] == entity_type).fillna(False).to_numpy(dtype=bool)
    # records of one entity type (as the prepared store reads them) are not copied row by row
    records = records if mine.all() else records.loc[mine]
    src = records[[*REQUIRED_COLUMNS, *optional]]
    src = src.reset_index(drop=True).reindex(columns=[*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS])
    duplicated = src["record_key"][src["record_key"].duplicated()].unique()
    if len(duplicated):
        raise ValueError(
            f"record_key must be unique; duplicated: {', '.join(map(str, duplicated[:5]))}"
        )
    if src["record_key"].isna().any():
        raise ValueError(f"{int(src['record_key'].isna().sum())} record(s) have no record_key")
    dropped: list[pd.DataFrame] = []
    structured = ("record_key", "entity_type", "birth_date", "is_branch", "other_phones")
    plain = [c for c in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS) if c not in structured]
    text = {c: _text(src[c]) for c in plain}

    # columns are collected in a dict and framed once: one DataFrame insert per column
    # costs more than preparing a single record (the duplicate check prepares one)
    out: dict[str, pd.Series] = {"record_key": src["record_key"].astype(STRING)}
    name = text["name_core"].fillna(text["name"])
    out["name_key"] = drop_placeholders(name, "text", "name_key", dropped)
    out["name_pinyin"] = text["name_pinyin"].where(out["name_key"].notna())
    out["name_latin"] = text["name_latin"].where(out["name_key"].notna())
    out["name_shape"] = name_shapes(out["name_key"])
    out["name_region"] = text["name_region"]
    out["legal_form"] = text["legal_form"]
    out["branch"] = (
        _branch(src["is_branch"])
        if entity_type == "company"
        else pd.Series(pd.NA, index=src.index, dtype=STRING)
    )

    for staged, column in IDENTIFIER_COLUMNS.items():
        value, kind = _identifier(text[staged], staged)
        out[column] = drop_placeholders(value, kind, column, dropped)
    out["phone_tail"] = _landline_tail(out["phone_block"])
    contact = None
    if entity_type == "company" and "contact_mobile" in records.columns:
        # a contact person's mobile on a company row reaches the company too
        contact = _text(records["contact_mobile"]).reset_index(drop=True)
    extra = _extra_numbers(src["other_phones"], dropped, contact)

    out["gender"] = text["gender"]
    out["birth_date"] = _dates(src["birth_date"])
    out["city_key"] = text["province"].fillna("") + "|" + text["city"]
    out["district_key"] = out["city_key"] + "|" + text["district"]
    street = text["address_detail"].str.replace(r"\s+", "", regex=True)
    out["address_detail"] = street.where(street != "")
    out["address_street"] = _street_and_number(out["address_detail"])
    postcode = text["postcode"].str.replace(r"\s+", "", regex=True)
    out["postcode"] = postcode.where(postcode != "")

    by_name = _name_prefix(out["name_key"]) if entity_type == "company" else out["name_key"]
    latin = out["name_latin"] if entity_type == "company" else _any_order(out["name_latin"])
    out.update(
        {
            "name_block": out["name_key"],
            "name_city_block": by_name + "|" + out["city_key"],
            "pinyin_city_block": latin + "|" + out["city_key"],
            "name_street_block": by_name + "|" + out["address_detail"],
            "name_birth_block": out["name_key"] + "|" + out["birth_date"],
            "pinyin_birth_block": latin + "|" + out["birth_date"],
            # the birth date alone finds a person whose name and ID both carry a typo; a
            # date shared by more than max_block_size records (1900-01-01, a default the
            # export filled in) creates no block
            "birth_block": out["birth_date"],
            # a person whose name and ID both carry a slip, or whose birth date is missing,
            # still shares the postcode with the other record and most often one word of
            # the name ('Larsisa Bradshaw' / 'Larissa Bradshaw', 'Kylie Dixon' / 'Madison
            # Dixon')
            **_postcode_keys(out["name_latin"], latin, out["postcode"], entity_type),
        }
    )
    lists = ("extra_numbers", "placeholders", *GRAM_COLUMNS)
    scalar = [c for c in UNCAPPED_COLUMNS if c not in lists]
    frame = pd.DataFrame(
        {c: entity_type if c == "entity_type" else out[c] for c in scalar}, index=src.index
    )
    schema = pa.schema([UNCAPPED_SCHEMA.field(c) for c in scalar])
    table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    columns = {
        **{c: table.column(c) for c in scalar},
        **bigram_lists({"name_grams": out["name_key"], "address_grams": out["address_detail"]}),
        "extra_numbers": extra,
        "placeholders": placeholder_lists(dropped, len(src)),
    }
    return pa.Table.from_arrays(
        [columns[c] for c in UNCAPPED_COLUMNS],
        schema=UNCAPPED_SCHEMA.with_metadata(table.schema.metadata),
    )


def as_prepared(
    records: pd.DataFrame | PreparedRecords, entity_type: str, rules: JunkRules | None = None
) -> PreparedRecords:
    """``records`` prepared for matching: records a step prepared once for the whole sync
    (``matching.linkage.prepared_store``) as they are, staged records by
    :func:`prepare_records`."""
    if isinstance(records, PreparedRecords):
        kinds = pc.unique(records.table.column("entity_type")).to_pylist()
        if kinds and kinds != [entity_type]:
            raise ValueError(f"prepared records of {kinds} given where {entity_type!r} are read")
        return records
    return prepare_records(records, entity_type, rules)


def _text(s: pd.Series) -> pd.Series:
    """Trimmed Arrow-backed text; empty strings and missing values as NA."""
    if not s.notna().any():
        return pd.Series(pd.NA, index=s.index, dtype=STRING)
    # Arrow's kernels on the whole column, as pandas' own .str.strip() runs them, without
    # pandas' overhead per call (it outweighed the work on the duplicate check's one record)
    text: pa.Array | pa.ChunkedArray
    if isinstance(s.array, pd.arrays.ArrowStringArray):
        # already Arrow (records read by ``staged_frame``): no Python string per value
        text = s.array._pa_array
    else:
        try:
            text = pa.array(s.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
        except (pa.ArrowTypeError, pa.ArrowInvalid):  # not all text: pandas' own conversion
            text = pa.array(s.astype(STRING).array)
    text = pc.utf8_trim_whitespace(text)
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
    return pd.Series(pd.arrays.ArrowStringArray(text), index=s.index)


def staged_frame(staged: pa.Table) -> pd.DataFrame:
    """Staged records read from DuckDB as Arrow, as pandas for :func:`prepare_uncapped`:
    text stays Arrow-backed (``STRING``), flags nullable booleans, dates ``datetime64[us]``
    (as DuckDB's own ``.df()`` gives them). At 1M records ``.df()`` made a Python string
    of every text value (7 s of CPU) that preparation turned back into Arrow."""
    dates = [f.name for f in staged.schema if pa.types.is_date(f.type)]
    if dates:
        staged = staged.cast(
            pa.schema(
                [
                    pa.field(f.name, pa.timestamp("us")) if f.name in dates else f
                    for f in staged.schema
                ]
            )
        )
    mapper = {pa.string(): pd.StringDtype("pyarrow"), pa.bool_(): pd.BooleanDtype()}
    return staged.to_pandas(types_mapper=mapper.get)


def _branch(is_branch: pd.Series) -> pd.Series:
    """'branch' / 'not' / NA of a company's ``is_branch`` flag (pandas' ``map`` of a
    nullable flag indexed the mapping per value: a second per million records)."""
    if not pd.api.types.is_bool_dtype(is_branch.dtype):
        return is_branch.map({True: "branch", False: "not"}).astype(STRING)
    flag = is_branch.astype("boolean")
    values = np.where(flag.fillna(False).to_numpy(dtype=bool), "branch", "not")
    return pd.Series(values, index=is_branch.index, dtype=STRING).where(flag.notna())


_STREET_AND_NUMBER = re.compile(STREET_AND_NUMBER)


def _street_and_number(detail: pd.Series) -> pd.Series:
    """The street and house number of each street address (``STREET_AND_NUMBER``, matched
    by Python's ``re`` as pandas' ``str.extract`` did, so the one-record preparation agrees),
    NA when there is none; once per distinct address, without pandas' call per value."""
    codes, uniques = pd.factorize(detail, use_na_sentinel=True)
    found = [_STREET_AND_NUMBER.search(u) for u in np.asarray(uniques, dtype=object)]
    streets = pa.array([m.group(1) if m else None for m in found] + [None], pa.string())
    taken = streets.take(pa.array(np.where(codes < 0, len(uniques), codes)))
    return pd.Series(pd.arrays.ArrowStringArray(taken), index=detail.index)


def _identifier(value: pd.Series, staged: str) -> tuple[pd.Series, str]:
    """An identifier in its comparable case, and its kind for placeholder detection."""
    if staged == "email":
        return value.str.lower(), "email"
    if staged in ("uscc", "id_number"):
        return value.str.upper(), "id"
    return value, "phone"


def _dates(s: pd.Series) -> pd.Series:
    """Birth dates as ISO text (yyyy-mm-dd), NA when absent or unparseable."""
    parsed = pd.to_datetime(s, errors="coerce")
    iso = pc.strftime(pa.array(parsed, type=pa.timestamp("ns")), format="%Y-%m-%d")
    return iso.to_pandas().astype(STRING).set_axis(s.index)


def _landline_tail(phone: pd.Series) -> pd.Series:
    """Last ``PHONE_TAIL_DIGITS`` digits of CN landlines (not mobiles, not 400/800 numbers)."""
    national = phone.str.replace(r"^\+86", "", regex=True)
    landline = phone.str.startswith("+86") & ~national.str.contains("^(?:1|400|800)", regex=True)
    return national.str[-PHONE_TAIL_DIGITS:].where(landline.fillna(False).astype(bool))


def _extra_numbers(
    others: pd.Series, dropped: list[pd.DataFrame], contact: pd.Series | None = None
) -> pa.ListArray:
    """Each record's further numbers: those of its cells beyond phone and mobile and, on a
    company row, the mobile of the contact person it names (``contact``: the export that
    wrote it in the company's mobile column instead says the same), placeholders left out
    (and listed in ``dropped``); one entry per occurrence, as the caps count them."""
    listed = others.dropna()
    listed = listed[listed.map(len) > 0]
    extra = pd.Series(
        np.concatenate([np.asarray(v, dtype=object) for v in listed]) if len(listed) else [],
        dtype=object,
    )
    owner: np.ndarray = np.repeat(listed.index.to_numpy(), listed.map(len).to_numpy(dtype=np.int64))
    extra = _text(extra.set_axis(pd.Index(owner, dtype="int64")))
    if contact is not None:
        contact = contact.dropna()
        extra = pd.concat([extra, contact.set_axis(contact.index.astype("int64"))])
    extra = drop_placeholders(extra, "phone", "phone_numbers", dropped).dropna()
    return lists_by_record(
        extra.index.to_numpy(dtype=np.int64),
        pa.array(extra.astype(object).to_numpy(), pa.string()),
        len(others),
    )


def lists_by_record(owners: np.ndarray, values: pa.Array, records: int) -> pa.ListArray:
    """``values`` gathered into one list per record (``owners``: each value's record, 0 to
    ``records`` - 1), in their order; None for a record with none. No Python call per
    record: a sync has a million of them."""
    order = np.argsort(owners, kind="stable")
    counts = np.bincount(owners, minlength=records)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    return pa.ListArray.from_arrays(
        pa.array(offsets), values.take(pa.array(order)), mask=pa.array(counts == 0)
    )


def placeholder_lists(dropped: list[pd.DataFrame], records: int) -> pa.ListArray:
    """The placeholders dropped from each record (``drop_placeholders``' findings) as a list
    of (column, value) per record."""
    found = pd.concat(dropped, ignore_index=True) if dropped else None
    if found is None or found.empty:
        return pa.nulls(records, pa.list_(PLACEHOLDER_TYPE))  # type: ignore[return-value]
    pairs = pa.StructArray.from_arrays(
        [pa.array(found[c].astype(object).to_numpy(), pa.string()) for c in ("column", "value")],
        fields=list(PLACEHOLDER_TYPE),
    )
    return lists_by_record(found["record"].to_numpy(dtype=np.int64), pairs, records)


def _any_order(name: pd.Series) -> pd.Series:
    """A Latin person name's words in alphabetical order: one key for 'zhang wei' and 'wei zhang'."""
    codes, uniques = pd.factorize(name, use_na_sentinel=True)
    keyed = np.array(
        [any_order(str(u)) for u in np.asarray(uniques, dtype=object)] + [None], dtype=object
    )
    return pd.Series(keyed[codes], index=name.index, dtype=object).astype(STRING)


def any_order(name: str) -> str:
    """One Latin person name's words in alphabetical order ('wei zhang' for 'zhang wei')."""
    return " ".join(sorted(name.split()))


def _postcode_keys(
    latin: pd.Series, any_order: pd.Series, postcode: pd.Series, entity_type: str
) -> dict[str, pd.Series]:
    """Person block keys on the postcode: with the Latin name in any order, with its first
    word, with its last word (no such keys for companies: their names are one word)."""
    at = "|" + postcode
    keys = {
        "latin_postcode_block": any_order + at,
        "first_word_postcode_block": latin.str.replace(r" .*$", "", regex=True) + at,
        "last_word_postcode_block": latin.str.replace(r"^.* ", "", regex=True) + at,
    }
    if entity_type != "person":
        return {k: pd.Series(pd.NA, index=latin.index, dtype=STRING) for k in keys}
    return keys


def _name_prefix(name: pd.Series) -> pd.Series:
    """First characters of a name core: Chinese ``NAME_PREFIX_CHARS``, Latin twice as many."""
    cjk = name.str.contains("^[\u3400-\u9fff]", regex=True).fillna(False).astype(bool)
    latin = name.str.lower().str[: 2 * NAME_PREFIX_CHARS]
    return name.str[:NAME_PREFIX_CHARS].where(cjk, latin)


def character_bigrams(text: str) -> list[str]:
    """The distinct character bigrams of one text, sorted (the text itself when it is one
    character)."""
    return sorted({text[i : i + 2] for i in range(len(text) - 1)} or {text})


def bigram_lists(texts: dict[str, pd.Series]) -> dict[str, pa.Array]:
    """The distinct character bigrams of each text, sorted (the text itself when it is one
    character), as :func:`character_bigrams` gives them; None for a missing text.

    DuckDB's string distances work on UTF-8 bytes, which makes any two Chinese strings
    look alike (their characters share lead bytes). Set overlap of character bigrams
    compares what a reader compares. Computed once per distinct value, in DuckDB SQL
    (``substring`` counts code points, and ``list_sort`` orders by UTF-8 bytes, which is
    code-point order, as Python's ``sorted`` does): a Python set per distinct value cost a
    third of preparing the records (1.7 of 5.3 s of profiled CPU, 137k records), handing
    Python lists to Arrow another tenth.
    """
    coded = {name: pd.factorize(s, use_na_sentinel=True) for name, s in texts.items()}
    grams: dict[str, pa.Array] = {}
    with duckdb.connect() as con:
        for name, (codes, uniques) in coded.items():
            values = pa.array(np.asarray(uniques, dtype=object), pa.string(), from_pandas=True)
            ordinal = pa.array(np.arange(len(values), dtype=np.int64))
            con.register("__texts", pa.table({"text": values, "ordinal": ordinal}))
            lists = con.sql(
                """SELECT CASE WHEN length(text) < 2 THEN [text] ELSE list_sort(list_distinct(
                       [substring(text, i, 2) FOR i IN range(1, length(text))])) END AS grams
                   FROM __texts ORDER BY ordinal"""
            ).to_arrow_table()["grams"]
            con.unregister("__texts")
            taken = lists.combine_chunks().take(pa.array(codes, mask=codes < 0))
            grams[name] = taken.cast(pa.list_(pa.string()))
    return grams
