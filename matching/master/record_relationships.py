"""Relationships read from the records themselves, and how a sync reads again only those a
touched customer takes part in.

Employment (a contact person named on a company's row), family (same surname and street,
and a landline or the same flat), owned_by (a shop named after its owner), holding by
name (a group company and the companies named after it with a place) and served by dealer
(a dealer code) are read in SQL from the current records (``matching.master.relationships``
says what each means). Each relates two customers through a value their records share (the
company's record, surname and street, owner's name, name core, dealer code) and reads
nothing but the records of those two customers, with one exception: a shop related to its
owner by a rare name alone depends on how many person records bear the name.

So a sync that touched a few customers (a record joined or left them, or its staged values
changed) reads only the records of the customers sharing such a value with a touched one,
keeps every relationship between two untouched customers (``master.relationships_read``,
before they are merged with the relationships of mentioned names) and reads again the
others. The shops and owners that only a rare name could relate are taken as touched when
the name became rare or stopped being rare since the last build (``master.rare_owner_names``
keeps the candidates' rare names). On the benchmark's 100k warehouse after a 1% day
(1,041 touched customers): taking every such shop and person as touched too (2,155 of them,
as every sync did before the kept names) read 13,251 of 79,352 records, 1.3 s of CPU
instead of 1.9 s for reading every record; with the kept names, 3,806 records instead of
13,505 in a later run of the same day (most of what is left is one pass over the records
to find the near customers, and the rare-name candidates).
"""

from __future__ import annotations

import logging
from collections.abc import Collection

import duckdb
import pandas as pd

from sources.standardise.addresses import STREET_AND_NUMBER
from warehouse.store import table_exists
from warehouse.views import CURRENT_RECORDS, CURRENT_XREF

#: The relationships read from the records at the last build, per pair and type, before
#: those of mentioned names were merged in: what an incremental build keeps.
RELATIONSHIPS_READ = "master.relationships_read"

logger = logging.getLogger(__name__)

FAMILY_CONFIDENCE = 0.8
OWNED_BY_CONFIDENCE = 0.9
HOLDING_BY_NAME_CONFIDENCE = 0.7
#: Highest share of person records a name may have for a shop named after it to be
#: related to the one person customer of that name in its city with nothing else shared
#: (张伟 is many people; 胡凯庆 is most likely the one): 1 in 500 person records.
OWNER_NAME_MAX_TF = 0.002
#: The legal form of a group company (a joint-stock company) that names subsidiaries after itself.
GROUP_LEGAL_FORM = "股份有限公司"


_EMPLOYMENT = """
    SELECT company.customer_id AS from_customer_id, s.customer_id AS to_customer_id,
           'employment' AS relationship_type,
           list(s.record_key ORDER BY s.record_key) AS evidence, 1.0 AS confidence, false AS inferred
    FROM {records} s
    JOIN {records} company ON company.record_key = s.derived_from_record_key
    WHERE s.derived_from_record_key IS NOT NULL
    GROUP BY ALL
"""

#: An address down to one flat or floor: a room (室), a unit (单元), a building of a
#: compound (栋, 座), a floor (楼: '191号18楼').
_FLAT = "(室|单元|栋|座|楼)"
#: The street and number of an address, without building, floor and room: 湖滨南路1号.
_STREET_NUMBER = f"coalesce(nullif(regexp_extract(street, '{STREET_AND_NUMBER}', 1), ''), street)"

#: Every number of a record (phone, mobile and the further numbers of its cells), in one list.
_NUMBERS = (
    "list_filter(list_distinct(list_concat([s.phone, s.mobile], coalesce(s.other_phones, []))),"
    " lambda n: n IS NOT NULL)"
)

#: A record's landlines: its phone and the further numbers of its cells that are no mobile
#: (a household shares its landline, each member has a mobile of their own).
_LANDLINES = (
    "list_filter(list_distinct(list_concat([s.phone], coalesce(s.other_phones, []))),"
    " lambda n: n IS NOT NULL AND NOT starts_with(n, '+861'))"
)

_FAMILY = f"""
    WITH people AS (
        SELECT s.customer_id, s.record_key, left(s.name, 1) AS surname,
               {_LANDLINES} AS phones, s.city,
               replace(s.address_detail, ' ', '') AS street
        FROM {{records}} s
        WHERE s.entity_type = 'person' AND s.name IS NOT NULL
          AND s.derived_from_record_key IS NULL
    ),
    phones AS (
        SELECT DISTINCT customer_id, surname, unnest(phones) AS phone FROM people
    ),
    streets AS (
        SELECT customer_id, surname, city, street AS flat, {_STREET_NUMBER} AS street,
               min(record_key) AS record_key
        FROM people WHERE street IS NOT NULL GROUP BY ALL
    )
    SELECT a.customer_id AS from_customer_id, b.customer_id AS to_customer_id,
           'family' AS relationship_type,
           [min(a.record_key), min(b.record_key)] AS evidence,
           {FAMILY_CONFIDENCE} AS confidence, true AS inferred
    FROM streets a JOIN streets b
      ON a.surname = b.surname AND a.street = b.street
     AND a.city IS NOT DISTINCT FROM b.city AND a.customer_id < b.customer_id
    WHERE (a.flat = b.flat AND regexp_matches(a.flat, '{_FLAT}'))
       OR EXISTS (SELECT 1 FROM phones pa JOIN phones pb USING (phone)
                  WHERE pa.customer_id = a.customer_id AND pb.customer_id = b.customer_id)
    GROUP BY ALL
"""

_HOLDING_BY_NAME = f"""
    WITH companies AS (
        SELECT s.customer_id, s.record_key, s.name_core, s.name_region, s.legal_form, s.name
        FROM {{records}} s
        WHERE s.entity_type = 'company' AND s.derived_from_record_key IS NULL
          AND s.name_core IS NOT NULL AND length(s.name_core) >= 2
          AND NOT regexp_matches(coalesce(s.name, ''), '(分公司|分店)$')
    ),
    groups AS (
        SELECT * FROM companies WHERE name_region IS NULL AND legal_form = '{GROUP_LEGAL_FORM}'
    ),
    placed AS (SELECT * FROM companies WHERE name_region IS NOT NULL)
    SELECT g.customer_id AS from_customer_id, p.customer_id AS to_customer_id,
           'holding' AS relationship_type,
           [min(g.record_key), min(p.record_key)] AS evidence,
           {HOLDING_BY_NAME_CONFIDENCE} AS confidence, true AS inferred
    FROM groups g JOIN placed p ON g.name_core = p.name_core AND g.customer_id <> p.customer_id
    WHERE NOT EXISTS (SELECT 1 FROM groups g2 WHERE g2.customer_id = p.customer_id)
    GROUP BY ALL
"""

#: The person names that are rare (``OWNER_NAME_MAX_TF``): borne by one person customer only
#: (contact persons counted) and by few person records, counted over every record
#: (``{only_names_read}``: a condition on ``s.name`` narrowing the names counted).
_RARE_NAMES = f"""
        SELECT s.name
        FROM staging.customers s JOIN {CURRENT_XREF} x USING (record_key)
        WHERE s.entity_type = 'person' AND s.name IS NOT NULL {{only_names_read}}
        GROUP BY s.name
        HAVING count(DISTINCT x.customer_id) = 1
           AND count(*) <= {OWNER_NAME_MAX_TF} * (SELECT count(*) FROM staging.customers
                                                   WHERE entity_type = 'person')
"""

_OWNED_BY = f"""
    WITH shops AS (
        SELECT s.customer_id, s.record_key, {_NUMBERS} AS numbers, s.city,
               {_STREET_NUMBER} AS street, s.business_owner_name,
               -- the owner's name opens the shop's name (its place in front taken off):
               -- candidates of 2 to 4 characters, so that the join is on equality
               unnest(list_distinct([left(s.name, 2), left(s.name, 3), left(s.name, 4),
                                     left(s.name_core, 2), left(s.name_core, 3),
                                     left(s.name_core, 4)])) AS owner_name
        FROM (SELECT *, replace(address_detail, ' ', '') AS street FROM {{records}}) s
        WHERE s.entity_type = 'company' AND s.name IS NOT NULL
          AND s.derived_from_record_key IS NULL
    ),
    owners AS (
        SELECT s.customer_id, s.record_key, s.name, {_NUMBERS} AS numbers, s.city,
               {_STREET_NUMBER} AS street
        FROM (SELECT *, replace(address_detail, ' ', '') AS street FROM {{records}}) s
        WHERE s.entity_type = 'person' AND s.derived_from_record_key IS NULL
          AND length(s.name) BETWEEN 2 AND 4 AND regexp_matches(s.name, '^[\u3400-\u9fff]+$')
    ),
    -- names borne by one person customer only (contact persons counted), and by few
    -- person records: their term frequency is at most {OWNER_NAME_MAX_TF}; counted over
    -- every record ({{only_names_read}}: for the names of the persons read again only)
    rare AS ({_RARE_NAMES}),
    -- each shop with the customer its row's contact person is, taken first: joined on the
    -- name first, common names (张伟) paired every such shop with every such person (the
    -- step's slowest join at 1M records)
    shop_contacts AS MATERIALIZED (
        SELECT shop.customer_id, shop.record_key, shop.owner_name, contact.customer_id AS contact_id
        FROM shops shop
        JOIN {{records}} contact ON contact.derived_from_record_key = shop.record_key
    ),
    -- each number of a shop and of a person on a row of its own: a shared number is found
    -- by a join (list_intersect over the 3.4M name pairs at 1M records took 3 minutes)
    shop_numbers AS (SELECT customer_id, record_key, owner_name, unnest(numbers) AS number FROM shops),
    owner_numbers AS (SELECT customer_id, record_key, name, unnest(numbers) AS number FROM owners),
    named AS (
        -- the shop shares a number with the person of its name
        SELECT shop.customer_id AS shop_id, owner.customer_id AS owner_id,
               shop.record_key AS shop_key, owner.record_key AS owner_key
        FROM shop_numbers shop JOIN owner_numbers owner
          ON shop.owner_name = owner.name AND shop.number = owner.number
        UNION ALL
        -- or its street and number, in the same city
        SELECT shop.customer_id, owner.customer_id, shop.record_key, owner.record_key
        FROM shops shop JOIN owners owner
          ON shop.owner_name = owner.name AND shop.street = owner.street
         AND shop.city IS NOT DISTINCT FROM owner.city
        UNION ALL
        -- the shop's row names its owner as contact person, and that contact is the owner
        SELECT shop.customer_id, owner.customer_id, shop.record_key, owner.record_key
        FROM shop_contacts shop JOIN owners owner
          ON shop.owner_name = owner.name AND shop.contact_id = owner.customer_id
        UNION ALL
        -- staging read the shop as an individual business named after its owner, and the
        -- one person customer of that rare name lives in the shop's city
        SELECT shop.customer_id, owner.customer_id, shop.record_key, owner.record_key
        FROM shops shop JOIN owners owner
          ON shop.business_owner_name = owner.name AND shop.owner_name = owner.name
         AND shop.city = owner.city
        JOIN rare ON rare.name = owner.name
    )
    SELECT shop_id AS from_customer_id, owner_id AS to_customer_id,
           'owned_by' AS relationship_type,
           [min(shop_key), min(owner_key)] AS evidence,
           {OWNED_BY_CONFIDENCE} AS confidence, true AS inferred
    FROM named
    GROUP BY ALL
"""

_SERVED_BY_DEALER = """
    WITH dealers AS (
        SELECT DISTINCT s.own_dealer_code AS code, s.customer_id
        FROM {records} s
        WHERE s.own_dealer_code IS NOT NULL
    )
    SELECT s.customer_id AS from_customer_id, d.customer_id AS to_customer_id,
           'served_by_dealer' AS relationship_type,
           list(s.record_key ORDER BY s.record_key) AS evidence, 1.0 AS confidence, false AS inferred
    FROM {records} s
    JOIN dealers d ON d.code = s.dealer_code
    WHERE s.customer_id <> d.customer_id
    GROUP BY ALL
"""


_QUERIES = (_EMPLOYMENT, _FAMILY, _OWNED_BY, _HOLDING_BY_NAME, _SERVED_BY_DEALER)
_OUT = "from_customer_id, to_customer_id, relationship_type, evidence, confidence::DOUBLE AS confidence, inferred"

_HOUSEHOLD = f"left(name, 1) || '|' || {_STREET_NUMBER} || '|' || coalesce(city, '')"
_IS_HOUSEHOLD = (
    "entity_type = 'person' AND name IS NOT NULL AND street IS NOT NULL"
    " AND derived_from_record_key IS NULL"
)
_IS_SHOP = "entity_type = 'company' AND name IS NOT NULL AND derived_from_record_key IS NULL"
_IS_PERSON = "entity_type = 'person' AND derived_from_record_key IS NULL"
_SHOP_NAMES = (
    "list_distinct([left(name, 2), left(name, 3), left(name, 4),"
    " left(name_core, 2), left(name_core, 3), left(name_core, 4)])"
)


#: Per record of ``__affected`` customers, the values through which it can relate its
#: customer to another: the company record a contact was read from (employment), surname,
#: street and city (family), name core (holding by name), the names a shop may be named
#: after and a person's name (owned_by), dealer codes (served by dealer, both ways).
_AFFECTED_KEYS = f"""
    WITH r AS (SELECT *, replace(address_detail, ' ', '') AS street FROM {CURRENT_RECORDS}
               WHERE customer_id IN (FROM __affected))
    SELECT 'company_record' AS kind, coalesce(derived_from_record_key, record_key) AS key FROM r
    UNION
    SELECT 'household', {_HOUSEHOLD} FROM r WHERE {_IS_HOUSEHOLD}
    UNION
    SELECT 'name_core', name_core FROM r WHERE entity_type = 'company' AND name_core IS NOT NULL
    UNION
    SELECT 'shop_name', unnest({_SHOP_NAMES}) FROM r WHERE {_IS_SHOP}
    UNION
    SELECT 'person_name', name FROM r WHERE {_IS_PERSON} AND name IS NOT NULL
    UNION
    SELECT 'own_dealer_code', own_dealer_code FROM r WHERE own_dealer_code IS NOT NULL
    UNION
    SELECT 'dealer_code', dealer_code FROM r WHERE dealer_code IS NOT NULL
"""


def _keyed(kind: str) -> str:
    """The affected records' values of ``kind`` (``__affected_keys``), as a subquery."""
    return f"(SELECT key FROM __affected_keys WHERE kind = '{kind}')"


#: The customers that share such a value with an affected one, each value looked up among
#: the affected records' (a shop's name relates to a person's, a dealer code to a dealer's
#: own code): one hash lookup per kind, so no value of an unaffected record is collected.
_NEAR = f"""
    WITH r AS (SELECT *, replace(address_detail, ' ', '') AS street FROM {CURRENT_RECORDS})
    SELECT customer_id FROM r
    WHERE coalesce(derived_from_record_key, record_key) IN {_keyed("company_record")}
    UNION SELECT customer_id FROM r
    WHERE {_IS_HOUSEHOLD} AND {_HOUSEHOLD} IN {_keyed("household")}
    UNION SELECT customer_id FROM r
    WHERE entity_type = 'company' AND name_core IN {_keyed("name_core")}
    UNION SELECT customer_id FROM r
    WHERE {_IS_SHOP} AND (
        {" OR ".join(f"left({c}, {n}) IN {_keyed('person_name')}" for c in ("name", "name_core") for n in (2, 3, 4))})
    UNION SELECT customer_id FROM r WHERE {_IS_PERSON} AND name IN {_keyed("shop_name")}
    UNION SELECT customer_id FROM r WHERE dealer_code IN {_keyed("own_dealer_code")}
    UNION SELECT customer_id FROM r WHERE own_dealer_code IN {_keyed("dealer_code")}
"""

#: Shops and person customers that a rare name alone could relate (a shop staged as named
#: after its owner, a person of that name in its city), with the name: whether the name is
#: rare depends on every person record, not only on the two customers.
_RARE_NAME_CANDIDATES = f"""
    SELECT DISTINCT shop.customer_id AS shop_id, owner.customer_id AS owner_id, owner.name
    FROM {CURRENT_RECORDS} shop JOIN {CURRENT_RECORDS} owner
      ON owner.name = shop.business_owner_name AND owner.city = shop.city
    WHERE shop.entity_type = 'company' AND owner.entity_type = 'person'
      AND shop.derived_from_record_key IS NULL AND owner.derived_from_record_key IS NULL
"""
#: The names of the rare-name candidates (``_RARE_NAME_CANDIDATES``) that were rare at the
#: last build (``name``): a sync reads again the candidates whose name became rare or
#: stopped being rare since, not every candidate.
RARE_OWNER_NAMES = "master.rare_owner_names"


#: The temp table of the customers whose relationships an incremental read read again.
AFFECTED = "__affected"


def read_relationships(
    con: duckdb.DuckDBPyConnection, touched: Collection[str] | None = None
) -> str | None:
    """Every relationship read from the current records (``RELATIONSHIP_COLUMNS``), kept as
    ``master.relationships_read`` (never read into this process: at 1M source records it
    holds some 800,000 rows with lists of evidence).

    Args:
        touched: customers a record joined or left or whose records' values changed since
            the last build (``SnapshotDiff.touched`` of ``matching.master.built_from``); None: read
            every record. Given, the relationships between two other customers are kept from
            the last build and the others read from the records of the customers that share
            a value with a touched one: the same rows as reading every record.
    Returns:
        None when every record was read; else the temp table (``AFFECTED``, one
        ``customer_id`` per row, for the caller to drop) of the customers whose rows were
        read again: every row between two others is as the last build left it.
    """
    whole = touched is None or not table_exists(con, *RELATIONSHIPS_READ.split("."))
    flipped = _rare_candidates(con, compare=not whole)
    if whole:
        con.execute(f"CREATE OR REPLACE TABLE {RELATIONSHIPS_READ} AS {_union(CURRENT_RECORDS)}")
        _keep_rare_names(con)
        return None
    assert touched is not None
    con.register("__touched", pd.DataFrame({"customer_id": sorted(touched)}, dtype=object))
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE __affected AS
            SELECT customer_id::VARCHAR AS customer_id FROM __touched
            UNION SELECT unnest([shop_id, owner_id]) FROM __rare_candidates
            WHERE {"true" if flipped is None else f"name IN (SELECT name FROM {flipped})"}"""
    )
    con.unregister("__touched")
    _keep_rare_names(con)
    con.execute(f"CREATE OR REPLACE TEMP TABLE __affected_keys AS {_AFFECTED_KEYS}")
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE __relationship_records AS
            SELECT * FROM {CURRENT_RECORDS} WHERE customer_id IN (
                SELECT customer_id FROM __affected UNION SELECT customer_id FROM ({_NEAR}))"""
    )
    read = con.execute("SELECT count(*) FROM __relationship_records").fetchall()[0][0]
    # updated in place: only the rows an affected customer takes part in are deleted and
    # read again, the others stay where they are (readers order what they read)
    mine = "from_customer_id IN (FROM __affected) OR to_customer_id IN (FROM __affected)"
    con.execute(f"DELETE FROM {RELATIONSHIPS_READ} WHERE {mine}")
    con.execute(
        f"""INSERT INTO {RELATIONSHIPS_READ}
            SELECT * FROM ({_union("__relationship_records", some=True)}) WHERE {mine}"""
    )
    for table in ("__relationship_records", "__affected_keys"):
        con.execute(f"DROP TABLE {table}")
    logger.info(
        "relationships read again from %d records of customers near %d touched", read, len(touched)
    )
    return AFFECTED


def _rare_candidates(con: duckdb.DuckDBPyConnection, compare: bool) -> str | None:
    """The rare-name candidates now (temp table ``__rare_candidates``: ``shop_id``,
    ``owner_id``, ``name``) and those of their names that are rare now (``__rare_now``).

    ``compare``: also the names whose rarity changed since the last build (temp table
    ``__rare_flipped``, returned): rare now and not then among the candidates of then, or
    the reverse. A shop and a person that no change touched were candidates then through
    the same name (a candidate pair depends on the two customers' records alone), so their
    relationship of a rare name differs from the last build's exactly when the name is
    among these; the candidates of every other name are not read again. Before, every
    candidate was (at 100k source records after a 1% day 2,152 customers besides the 1,027
    touched, and the records of every customer near them). None: no names kept (a build
    before this table existed): every candidate is read again.
    """
    con.execute(f"CREATE OR REPLACE TEMP TABLE __rare_candidates AS {_RARE_NAME_CANDIDATES}")
    names = "AND s.name IN (SELECT name FROM __rare_candidates)"
    con.execute(
        "CREATE OR REPLACE TEMP TABLE __rare_now AS "
        + _RARE_NAMES.replace("{only_names_read}", names)
    )
    if not compare or not table_exists(con, *RARE_OWNER_NAMES.split(".")):
        return None
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE __rare_flipped AS
            (FROM __rare_now EXCEPT FROM {RARE_OWNER_NAMES})
            UNION (FROM {RARE_OWNER_NAMES} EXCEPT FROM __rare_now)"""
    )
    return "__rare_flipped"


def _keep_rare_names(con: duckdb.DuckDBPyConnection) -> None:
    """Keep the candidates' rare names (``__rare_now``) as ``RARE_OWNER_NAMES``, for the
    next build, and drop the temp tables of :func:`_rare_candidates`."""
    con.execute(f"CREATE OR REPLACE TABLE {RARE_OWNER_NAMES} AS FROM __rare_now ORDER BY name")
    for table in ("__rare_candidates", "__rare_now", "__rare_flipped"):
        con.execute(f"DROP TABLE IF EXISTS {table}")


def _union(records: str, some: bool = False) -> str:
    """Every relationship read from ``records`` (current records with their customer).

    ``some``: ``records`` are those near the touched customers, not all: the rarity of a
    name is counted (over every record) for the names of their persons only, a few thousand
    names instead of every one (at 100k source records after a 1% day 0.06 CPU-seconds for
    the owned_by query instead of 0.085; over every record the filter would cost more than
    it saves)."""
    only_names_read = (
        f"AND s.name IN (SELECT name FROM {records} WHERE entity_type = 'person')" if some else ""
    )
    return " UNION ALL ".join(
        "SELECT {} FROM ({})".format(
            _OUT, sql.replace("{records}", records).replace("{only_names_read}", only_names_read)
        )
        for sql in _QUERIES
    )
