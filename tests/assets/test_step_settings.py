"""What decides how a step builds: roles and tokens do not, so a change of ``access:`` is not a rebuild."""

import yaml

from assets.step_work import deployment_settings
from sources.config import load_config

SOURCE = {
    "name": "dealers",
    "kind": "dealer",
    "path": "d/*.csv",
    "entity_type": "company",
    "columns": {"source_record_id": "id", "name": "name"},
}


def settings_of(tmp_path, **sections):
    path = tmp_path / "customer_master.yaml"
    path.write_text(yaml.safe_dump({"sources": [SOURCE], **sections}), encoding="utf-8")
    return deployment_settings(load_config(path))


def test_access_roles_do_not_change_what_a_sync_builds_but_matching_does(tmp_path):
    plain = settings_of(tmp_path)
    access = {"tokens_file": "t.yaml", "roles": [{"name": "analysts", "pii": "masked"}]}
    assert settings_of(tmp_path, access=access) == plain
    assert settings_of(tmp_path, matching={"upper_threshold": 0.99}) != plain
