"""Client tests never read or write the real user's config folder (saved login tokens)."""

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """CHINWAG_CONFIG_HOME in a temporary folder, for this process and its children."""
    folder = tmp_path / "config-home"
    monkeypatch.setenv("CHINWAG_CONFIG_HOME", str(folder))
    return folder
