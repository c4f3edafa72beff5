"""`clinic-kg serve`: validates first, refuses invalid data, else serves the snapshot it built."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from server.cli import cli, main
from server.cli import serve as serve_module
from server.settings import Settings
from server.store.protocol import StoreHolder

from .conftest import REPO


# On a copy: serve keeps a start-up cache in the project folder, and tests leave the checkout as
# they found it.
def test_serves_a_snapshot_of_valid_data(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    served: list[tuple[Settings, StoreHolder]] = []
    monkeypatch.setattr(serve_module, "run", lambda s, h: served.append((s, h)))
    result = CliRunner().invoke(cli, ["serve", "--root", str(project), "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert "conforms" in result.output
    [(settings, holder)] = served
    assert (settings.host, settings.port) == ("127.0.0.1", 8123)
    assert holder.current.entity("failed-back-surgery-syndrome") is not None


def test_host_and_port_default_to_loopback_8000(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[Settings] = []
    monkeypatch.setattr(serve_module, "run", lambda s, h: served.append(s))
    monkeypatch.delenv("CLINIC_KG_HOST", raising=False)
    monkeypatch.delenv("CLINIC_KG_PORT", raising=False)
    assert CliRunner().invoke(cli, ["serve", "--root", str(project)]).exit_code == 0
    assert (served[0].host, served[0].port) == ("127.0.0.1", 8000)


def test_refuses_to_serve_invalid_data(project: Path) -> None:
    # A real process: the exit code is what an operator's script sees.
    (project / "kg" / "symptoms.ttl").write_text("kg:broken a .\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "server", "serve", "--root", str(project), "--port", "1"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "kg/symptoms.ttl:1: error" in done.stderr
    assert "does not conform" in done.stderr
    assert "not serving: fix the errors above" in done.stderr


def test_refuses_a_folder_that_is_not_a_project(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["serve", "--root", str(tmp_path)])
    assert result.exit_code == 2
    assert "is not a clinic-kg project" in result.output


def test_an_unknown_log_format_stops_before_validating(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    validated: list[Path] = []
    monkeypatch.setattr(serve_module, "start", lambda root, *a, **k: validated.append(root))
    monkeypatch.setenv("CLINIC_KG_LOG_FORMAT", "xml")
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--root", str(project)])
    assert exited.value.code == 2
    assert "bad setting: CLINIC_KG_LOG_FORMAT='xml'" in capsys.readouterr().err
    assert not validated
