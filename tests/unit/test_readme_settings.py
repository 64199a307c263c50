"""Every APP_* variable the settings read is documented in the README's configuration table."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices

from runners.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def variables() -> set[str]:
    names = set()
    for field in Settings.model_fields.values():
        alias = field.validation_alias
        choices = alias.choices if isinstance(alias, AliasChoices) else [alias]
        names.update(c for c in choices if isinstance(c, str) and c.startswith("APP_"))
    return names


def test_the_settings_read_their_variables() -> None:
    assert {"APP_ADAPTERS", "APP_JWT_SECRET", "APP_HTTP_HEADER_TIMEOUT"} <= variables()


def test_every_variable_is_in_the_readme() -> None:
    text = README.read_text(encoding="utf-8")
    assert sorted(v for v in variables() if f"`{v}`" not in text) == []
