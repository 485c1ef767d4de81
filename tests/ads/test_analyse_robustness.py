"""``signaal analyse`` under failure: internal errors, symlinked outputs, killed runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from signaal.cli import app

from .adfactories import record_json

runner = CliRunner()


def _ads(tmp_path: Path, n: int = 3) -> Path:
    path = tmp_path / "ads.jsonl"
    path.write_bytes(
        b"".join(
            orjson.dumps(record_json(id=f"s:{i}", phones=[f"06-900000{i:02d}"])) + b"\n"
            for i in range(n)
        )
    )
    return path


def test_an_internal_error_is_exit_1_with_one_line_and_the_traceback_in_a_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import signaal.ads.risk

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug in the risk stage")

    monkeypatch.setattr(signaal.ads.risk, "score", broken)
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["analyse", str(_ads(tmp_path)), "--out", str(out), "--quiet", "--workers", "1"]
    )
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("internal error: RuntimeError: a bug in the risk stage")
    assert str(out / "error.log") in lines[0]
    assert "bad usage" not in result.output.lower()
    log = (out / "error.log").read_text("utf-8")
    assert "Traceback" in log
    assert "a bug in the risk stage" in log
    monkeypatch.undo()
    again = runner.invoke(
        app, ["analyse", str(_ads(tmp_path)), "--out", str(out), "--quiet", "--workers", "1"]
    )
    assert again.exit_code == 0, again.output
    assert not (out / "error.log").exists()  # not left to be taken for this run's


def test_bad_usage_stays_exit_2(tmp_path: Path) -> None:
    ads = _ads(tmp_path)
    bad_indicators = tmp_path / "indicators.json"
    bad_indicators.write_text("{not json", "utf-8")
    bad_weights = tmp_path / "weights.json"
    bad_weights.write_text("[1, 2]", "utf-8")
    for extra in (["--indicators", str(bad_indicators)], ["--weights", str(bad_weights)]):
        result = runner.invoke(
            app, ["analyse", str(ads), "--out", str(tmp_path / "o"), "--quiet", *extra]
        )
        assert result.exit_code == 2, (extra, result.output)
        assert "internal error" not in result.output
    missing = runner.invoke(
        app, ["analyse", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "o"), "--quiet"]
    )
    assert missing.exit_code == 2
    assert not (tmp_path / "o" / "error.log").exists()


def test_an_output_folder_that_is_a_file_is_bad_usage_before_the_run(tmp_path: Path) -> None:
    (tmp_path / "out").write_text("a file", "utf-8")
    result = runner.invoke(
        app, ["analyse", str(_ads(tmp_path)), "--out", str(tmp_path / "out"), "--quiet"]
    )
    assert result.exit_code == 2, result.output
    assert "--out" in result.output
    assert (tmp_path / "out").read_text("utf-8") == "a file"


def test_an_unreadable_input_file_is_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ads = _ads(tmp_path)
    ads.chmod(0)
    if os.geteuid() == 0:
        # Root reads any file whatever its mode (CI runs as root): refuse the read as the
        # kernel would for anyone else.
        real_open = Path.open

        def refusing_open(self: Path, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
            if self == ads:
                raise PermissionError(13, "Permission denied", str(self))
            return real_open(self, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(Path, "open", refusing_open)
    result = runner.invoke(app, ["analyse", str(ads), "--out", str(tmp_path / "o"), "--quiet"])
    assert result.exit_code == 2, result.output
    assert "Permission denied" in result.output


def test_symlinked_outputs_are_replaced_and_their_targets_untouched(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    names = ("ads.csv", "personas.csv", "links.csv", "quarantine.jsonl", "report.html")
    targets = {}
    for name in names:
        target = tmp_path / f"precious-{name}"
        target.write_text("keep me", "utf-8")
        (out / name).symlink_to(target)
        targets[name] = target
    result = runner.invoke(app, ["analyse", str(_ads(tmp_path)), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    for name, target in targets.items():
        assert not (out / name).is_symlink(), name
        assert (out / name).is_file(), name
        assert target.read_text("utf-8") == "keep me", name
    assert (out / "ads.csv").read_text("utf-8").startswith("ad_id,")
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def _children(pid: int) -> set[int]:
    """Every descendant of ``pid`` (from /proc)."""
    found: set[int] = set()
    todo = [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                kids = (task / "children").read_text().split()
            except OSError:
                continue
            for kid in map(int, kids):
                if kid not in found:
                    found.add(kid)
                    todo.append(kid)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs /proc")
def test_workers_end_when_the_analysis_is_killed(tmp_path: Path) -> None:
    """kill -9 during the analysis: no worker process stays behind."""
    from signaal.synth import SynthConfig, generate

    generate(SynthConfig(seed=3, ads=20_000), tmp_path / "corpus", workers=1)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "signaal",
            "analyse",
            str(tmp_path / "corpus" / "ads.jsonl"),
            "--out",
            str(tmp_path / "out"),
            "--quiet",
            "--workers",
            "2",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # so that the killed run's workers are not ours to reap
    )
    try:
        deadline = time.monotonic() + 60
        workers: set[int] = set()
        while time.monotonic() < deadline and len(workers) < 2:
            assert process.poll() is None, "the analysis ended before it could be killed"
            workers = _children(process.pid)
            time.sleep(0.05)
        assert len(workers) >= 2, "no worker processes seen"
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(map(_alive, workers)):
            time.sleep(0.1)
        assert not [pid for pid in workers if _alive(pid)], "workers outlived their parent"
    finally:
        if process.poll() is None:
            process.kill()
