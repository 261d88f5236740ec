"""The marts section of the config: defaults, mistakes named by key, the demo's own settings."""

from datetime import date
from pathlib import Path

import pytest
import yaml

from sources.config import ConfigError, load_config
from sources.demo import REFERENCE_DATE, demo_config, write_demo_config
from sources.demo.vocabulary import CONSUMABLES, EQUIPMENT

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, marts: dict | None) -> Path:
    settings: dict = {
        "sources": [
            {"name": "dealers", "kind": "dealer", "path": "d/*.csv", "entity_type": "company",
             "columns": {"source_record_id": "id", "name": "name"}}
        ]
    }  # fmt: skip
    if marts is not None:
        settings["marts"] = marts
    path = tmp_path / "customer_master.yaml"
    path.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    return path


def test_defaults_without_a_marts_section(tmp_path):
    marts = load_config(write(tmp_path, None)).marts
    assert marts.as_of is None and marts.revenue_window_days == 365
    assert (marts.abc.a_share, marts.abc.b_share) == (0.8, 0.95)
    assert (marts.lifecycle.dormant_days, marts.lifecycle.churned_days) == (90, 365)
    assert marts.rfm.bins == 5 and marts.rfm.segments[0].name == "champions"


def test_settings_are_read_with_dates_and_product_names(tmp_path):
    path = write(tmp_path, {
        "as_of": "2026-09-30",
        "followup": {"consumables": {"products": ["墨盒 HP 803 黑色"], "min_orders": 4},
                     "service": {"intervals": {"数码复印机 Canon iR2625": 90}}},
    })  # fmt: skip
    marts = load_config(path).marts
    assert marts.as_of == date(2026, 9, 30)
    assert marts.followup.consumables.min_orders == 4
    assert marts.followup.service.intervals == {"数码复印机 Canon iR2625": 90}


@pytest.mark.parametrize(
    ("marts", "message"),
    [
        ({"abc": {"a_share": 0.95, "b_share": 0.8}}, r"marts\.abc: .*a_share \(0\.95\) must be below b_share"),
        ({"lifecycle": {"dormant_days": 400}}, r"marts\.lifecycle: .*dormant_days \(400\) must be below churned_days"),
        ({"rfm": {"bins": 3}}, r"marts\.rfm: .*segment 'champions': recency range \[4, 5\] must lie within 1\.\.3"),
        ({"value_tiers": [{"name": "a", "min_revenue": 10}, {"name": "b", "min_revenue": 20}]},
         r"marts: .*value_tiers must be listed from the highest min_revenue down"),
        ({"followup": {"service": {"intervals": {"复印机": 0}}}},
         r"marts\.followup\.service: .*at least 1 day: 复印机"),
        ({"followup": {"consumables": {"min_order": 3}}}, r"marts\.followup\.consumables\.min_order: unknown key"),
        ({"growth": {"period": "week"}}, r"marts\.growth\.period: Input should be 'month', 'quarter' or 'year'"),
    ],
)  # fmt: skip
def test_mistakes_name_the_key(tmp_path, marts, message):
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, marts))


def test_demo_config_describes_the_demo_day_and_its_products():
    marts = demo_config()["marts"]
    assert marts["as_of"] == REFERENCE_DATE
    assert marts["followup"]["consumables"]["products"] == [p for p, _ in CONSUMABLES]
    intervals = marts["followup"]["service"]["intervals"]
    assert intervals == {p: days for p, _, days in EQUIPMENT if days} and intervals


def test_config_demo_yaml_is_the_generated_demo_config(tmp_path):
    """config/demo.yaml maps ../demo exactly as `custmaster demo-data` writes it beside the exports."""
    expected = write_demo_config(tmp_path / "demo.yaml", "../demo/exports", "../demo/out")
    committed = PROJECT_ROOT / "config" / "demo.yaml"
    assert committed.read_text(encoding="utf-8") == expected.read_text(encoding="utf-8")
