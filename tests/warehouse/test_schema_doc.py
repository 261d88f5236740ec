"""docs/schema.md as a contract: parsed, compared with the export both ways, regenerated."""

from warehouse.schema_doc import UNDESCRIBED, compare, parse, render

DOC = """# Published tables

Intro text.

## customers

`master.customers`: one row per real customer.

| column | type | meaning |
|---|---|---|
| `customer_id` | VARCHAR | Persistent customer ID |
| `sources` | VARCHAR[] | Sources that know the customer |
| `phone` | VARCHAR | Landline in E.164 |
"""

MANIFEST = {
    "tables": {
        "customers": {
            "table": "master.customers",
            "columns": {"customer_id": "VARCHAR", "sources": "VARCHAR[]", "phone": "VARCHAR"},
        }
    }
}


def exported(**columns: str) -> dict[str, dict[str, str]]:
    return {"customers": columns}


def test_a_document_that_matches_has_no_problem():
    preamble, tables = parse(DOC)
    assert preamble.startswith("# Published tables") and "Intro text." in preamble
    assert tables["customers"].about == "`master.customers`: one row per real customer."
    assert tables["customers"].columns["sources"] == ("VARCHAR[]", "Sources that know the customer")
    assert (
        compare(tables, exported(customer_id="VARCHAR", sources="VARCHAR[]", phone="VARCHAR")) == []
    )


def test_disagreements_are_found_both_ways():
    _, tables = parse(DOC)
    problems = compare(
        tables,
        {
            "customers": {"customer_id": "VARCHAR", "sources": "VARCHAR", "mobile": "VARCHAR"},
            "relationships": {"from_customer_id": "VARCHAR"},
        },
    )
    assert set(problems) == {
        "relationships: exported, not documented",
        "customers.mobile: exported, not documented",
        "customers.phone: documented, not exported",
        "customers.sources: exported as VARCHAR, documented as VARCHAR[]",
    }
    assert compare(tables, {}) == ["customers: documented, not exported"]


def test_render_keeps_descriptions_and_marks_new_columns():
    preamble, tables = parse(DOC)
    manifest = {
        "tables": {
            "customers": {
                "table": "master.customers",
                "columns": {"customer_id": "VARCHAR", "phone": "VARCHAR", "email": "VARCHAR"},
            },
            "relationships": {"table": "master.relationships", "columns": {"to": "VARCHAR"}},
        }
    }
    text = render(preamble, tables, manifest)
    assert "| `customer_id` | VARCHAR | Persistent customer ID |" in text
    assert f"| `email` | VARCHAR | {UNDESCRIBED} |" in text
    assert "sources" not in text.split("## customers")[1]
    _, again = parse(text)
    assert set(compare(again, {n: t["columns"] for n, t in manifest["tables"].items()})) == {
        "customers.email: no description",
        "relationships.to: no description",
        "relationships: no description of the table",
    }
