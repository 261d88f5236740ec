"""The tokens file: hashes only, a bad entry refused with its line, issue and revoke."""

import stat

import pytest

from warehouse.access import TokenFileError, hash_token, issue_token, read_tokens, revoke_token

ROLES = {"fujian_office", "analysts"}
GOOD = "a" * 64


def write(tmp_path, text):
    path = tmp_path / "access_tokens.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_file_maps_each_hash_to_its_token_id_and_role(tmp_path):
    path = write(
        tmp_path,
        f"# tokens\nfujian-crm:\n  role: fujian_office\n  sha256: {GOOD}\n"
        f"bi:\n  role: analysts\n  sha256: {'B' * 64}\n  note: the BI server\n",
    )
    tokens = read_tokens(path, ROLES)
    assert {e.token_id: (e.role, e.line) for e in tokens.values()} == {
        "fujian-crm": ("fujian_office", 2),
        "bi": ("analysts", 5),
    }
    assert set(tokens) == {GOOD, "b" * 64}


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("  role: sales\n  sha256: " + GOOD, "line 4: token second: role 'sales' is not a role"),
        ("  role: analysts\n  sha256: cm_secret", "line 4: token second: sha256 must be 64 hex"),
        ("  role: analysts", "line 4: token second: sha256 is missing"),
        (
            "  role: analysts\n  sha256: " + GOOD.replace("a", "c") + "\n  rol: x",
            "line 4: token second: unknown key",
        ),
        (
            "  role: analysts\n  sha256: " + GOOD,
            "line 4: token second has the hash of first (line 1)",
        ),
        ("  - analysts", "line 4: token second: expected role and sha256"),
    ],
)
def test_a_bad_entry_is_refused_naming_its_line(tmp_path, entry, message):
    path = write(tmp_path, f"first:\n  role: analysts\n  sha256: {GOOD}\nsecond:\n{entry}\n")
    with pytest.raises(
        TokenFileError, match=message.replace("(", r"\(").replace(")", r"\)")
    ) as caught:
        read_tokens(path, ROLES)
    assert str(path) in str(caught.value)


def test_an_id_given_twice_and_broken_yaml_are_refused_with_the_line(tmp_path):
    twice = write(
        tmp_path,
        f"x:\n  role: analysts\n  sha256: {GOOD}\nx:\n  role: analysts\n  sha256: {'b' * 64}\n",
    )
    with pytest.raises(TokenFileError, match="line 4: token id x already given on line 1"):
        read_tokens(twice, ROLES)
    broken = write(tmp_path, "x:\n  role: [analysts\n")
    with pytest.raises(TokenFileError, match=r"line \d+: not valid YAML"):
        read_tokens(broken, ROLES)


def test_issue_writes_the_hash_never_the_token_and_revoke_removes_it(tmp_path):
    path = tmp_path / "access_tokens.yaml"
    first = issue_token(path, "fujian-crm", "fujian_office", ROLES)
    second = issue_token(path, "bi", "analysts", ROLES)
    text = path.read_text(encoding="utf-8")
    assert first not in text and second not in text
    assert hash_token(first) in text and hash_token(second) in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    tokens = read_tokens(path, ROLES)
    assert tokens[hash_token(first)].role == "fujian_office"
    with pytest.raises(TokenFileError, match="already issued"):
        issue_token(path, "bi", "analysts", ROLES)
    with pytest.raises(TokenFileError, match="not a role"):
        issue_token(path, "x", "sales", ROLES)

    revoke_token(path, "fujian-crm", ROLES)
    assert [e.token_id for e in read_tokens(path, ROLES).values()] == ["bi"]
    with pytest.raises(TokenFileError, match="no token has the id fujian-crm"):
        revoke_token(path, "fujian-crm", ROLES)


def test_the_command_line_issues_a_token_for_a_role_of_the_config(tmp_path, capsys):
    from pipelines.cli import main

    config = tmp_path / "customer_master.yaml"
    config.write_text(
        "sources:\n  - name: dealers\n    kind: dealer\n    path: d/*.csv\n"
        "    entity_type: company\n    columns: {source_record_id: id, name: name}\n"
        "access:\n  tokens_file: access_tokens.yaml\n  roles:\n    - name: analysts\n",
        encoding="utf-8",
    )
    assert (
        main(["token", "issue", "--id", "bi", "--role", "analysts", "--config", str(config)]) == 0
    )
    token = capsys.readouterr().out.splitlines()[1]
    assert token.startswith("cm_")
    assert (
        read_tokens(tmp_path / "access_tokens.yaml", {"analysts"})[hash_token(token)].token_id
        == "bi"
    )
    assert main(["token", "issue", "--id", "x", "--role", "sales", "--config", str(config)]) == 2
    assert "not a role" in capsys.readouterr().err
