"""Settings: every one documented, and the order env → TOML → default."""

from __future__ import annotations

from pathlib import Path

import pytest

from signwatch.config import Settings, load_settings

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


def test_every_setting_is_documented() -> None:
    text = DOC.read_text()
    for name in Settings.model_fields:
        if name != "config_file":
            assert f"| {name} |" in text, f"{name} is not in docs/configuration.md"


def test_env_overrides_toml_overrides_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toml = tmp_path / "sw.toml"
    toml.write_text(
        '[signwatch]\nport = 9100\nhost = "0.0.0.0"\n[[signwatch.pollers]]\ntenant = "acme"\n'
        'base_url = "http://127.0.0.1:9"\n'
    )
    monkeypatch.setenv("SIGNWATCH_CONFIG_FILE", str(toml))
    monkeypatch.setenv("SIGNWATCH_PORT", "9200")
    s = load_settings()
    assert s.port == 9200 and s.host == "0.0.0.0" and s.pollers[0].tenant == "acme"
    assert s.max_body_bytes == 1024 * 1024
    assert load_settings(port=9300).port == 9300
    assert "hunter2-value" not in repr(load_settings(secret_key="hunter2-value"))
