from __future__ import annotations

import pytest

from server.settings import SETTINGS, SettingError, Settings

from .conftest import REPO


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    rows = [line for line in readme.splitlines() if line.startswith("| `CLINIC_KG_")]
    documented = {row.split("`")[1]: row for row in rows}
    missing = [s.env for s in SETTINGS if s.env not in documented]
    assert not missing, f"settings missing from README's table: {missing}"
    for s in SETTINGS:
        default = str(s.default).lower() if isinstance(s.default, bool) else str(s.default)
        assert f"| `{default}` |" in documented[s.env], f"{s.env}: README shows another default"
    stale = set(documented) - {s.env for s in SETTINGS}
    assert not stale, f"README documents settings that do not exist: {stale}"


def test_every_setting_has_help() -> None:
    assert all(s.help.strip() for s in SETTINGS)


def test_environment_overrides_defaults() -> None:
    settings = Settings.from_env({"CLINIC_KG_PORT": "9000", "CLINIC_KG_INTROSPECTION": "off"})
    assert settings.port == 9000
    assert settings.introspection is False
    assert Settings.from_env({}).port == 8000


def test_explicit_overrides_win_over_environment() -> None:
    assert Settings.from_env({"CLINIC_KG_PORT": "9000"}, port=9100).port == 9100


@pytest.mark.parametrize(
    ("name", "raw"), [("CLINIC_KG_PORT", "eighty"), ("CLINIC_KG_WATCH", "maybe")]
)
def test_bad_values_are_reported_by_name(name: str, raw: str) -> None:
    with pytest.raises(SettingError, match=name):
        Settings.from_env({name: raw})
