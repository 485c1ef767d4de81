"""Contained reads of files named by the input, and atomic writes of outputs."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from signaal.ads.files import FileRefused, atomic_writer, read_contained, write_atomic


@pytest.fixture
def tree(tmp_path: Path) -> dict[str, Path]:
    root = tmp_path / "corpus"
    (root / "photos" / "sub").mkdir(parents=True)
    (root / "photos" / "a.jpg").write_bytes(b"inside")
    outside = tmp_path / "outside.jpg"
    outside.write_bytes(b"SECRET")
    return {"root": root, "outside": outside, "tmp": tmp_path}


def test_a_regular_file_inside_is_read(tree: dict[str, Path]) -> None:
    root = tree["root"]
    assert read_contained(root, root / "photos" / "a.jpg", 100) == b"inside"
    assert read_contained(root, root / "photos" / "sub" / ".." / "a.jpg", 100) == b"inside"


def test_a_symlink_that_stays_inside_is_followed(tree: dict[str, Path]) -> None:
    root = tree["root"]
    (root / "photos" / "sub" / "link.jpg").symlink_to("../a.jpg")
    assert read_contained(root, root / "photos" / "sub" / "link.jpg", 100) == b"inside"


@pytest.mark.parametrize(
    "written",
    [
        "../outside.jpg",
        "photos/../../outside.jpg",
        "ABSOLUTE",
        "photos/escape.jpg",
        "linkdir/x.jpg",
    ],
)
def test_every_way_out_of_the_folder_is_refused(tree: dict[str, Path], written: str) -> None:
    root = tree["root"]
    (root / "photos" / "escape.jpg").symlink_to(tree["outside"])
    (tree["tmp"] / "elsewhere").mkdir()
    (tree["tmp"] / "elsewhere" / "x.jpg").write_bytes(b"SECRET")
    (root / "linkdir").symlink_to(tree["tmp"] / "elsewhere")
    path = tree["outside"] if written == "ABSOLUTE" else root / written
    with pytest.raises(FileRefused, match="outside the permitted folder"):
        read_contained(root, path, 100)


def test_loops_fifos_folders_and_devices_are_refused_without_blocking(
    tree: dict[str, Path],
) -> None:
    root = tree["root"]
    photos = root / "photos"
    (photos / "loop.jpg").symlink_to(photos / "loop.jpg")
    os.mkfifo(photos / "fifo.jpg")
    (photos / "dev.jpg").symlink_to("/dev/zero")
    cases = {
        "loop.jpg": "symbolic link",
        "fifo.jpg": "named pipe",
        "sub": "a folder",
        "dev.jpg": "outside the permitted folder",
        "missing.jpg": "missing",
    }
    outcome: dict[str, str] = {}

    def check() -> None:
        for name in cases:
            try:
                read_contained(root, photos / name, 100)
            except FileRefused as exc:
                outcome[name] = exc.reason

    worker = threading.Thread(target=check, daemon=True)
    worker.start()
    worker.join(10)
    assert not worker.is_alive(), "reading a FIFO blocked"
    for name, reason in cases.items():
        assert reason in outcome[name], (name, outcome)


def test_a_device_inside_the_folder_is_refused(tree: dict[str, Path]) -> None:
    if not Path("/dev/null").exists():
        pytest.skip("no /dev/null")
    # A device node cannot be made without privileges; the root folder itself can be /dev.
    with pytest.raises(FileRefused, match="a device"):
        read_contained(Path("/dev"), Path("/dev/null"), 100)


def test_a_file_over_the_byte_limit_is_refused_before_reading(tree: dict[str, Path]) -> None:
    root = tree["root"]
    (root / "big.jpg").write_bytes(b"x" * 101)
    with pytest.raises(FileRefused, match="too large: 101 bytes"):
        read_contained(root, root / "big.jpg", 100)
    assert read_contained(root, root / "big.jpg", 101) == b"x" * 101


def test_atomic_write_replaces_a_symlink_and_leaves_its_target_alone(tmp_path: Path) -> None:
    target = tmp_path / "precious.txt"
    target.write_text("do not overwrite", "utf-8")
    out = tmp_path / "out"
    out.mkdir()
    (out / "ads.csv").symlink_to(target)
    write_atomic(out / "ads.csv", "ad_id\n")
    assert not (out / "ads.csv").is_symlink()
    assert (out / "ads.csv").read_text("utf-8") == "ad_id\n"
    assert target.read_text("utf-8") == "do not overwrite"


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    path.write_text("old", "utf-8")

    def fail_halfway() -> None:
        with atomic_writer(path) as handle:
            handle.write("half")
            raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        fail_halfway()
    assert path.read_text("utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_atomic_files_are_private_to_their_owner(tmp_path: Path) -> None:
    path = write_atomic(tmp_path / "personas.csv", b"persona_id\n")
    assert path.stat().st_mode & 0o077 == 0
