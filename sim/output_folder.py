"""The folder a run writes (`--out`), as a unit: checked before anything is simulated,
written beside itself under a temporary name and renamed into place at the end, so that an
earlier run's folder stays whole until then and is replaced whole, never mixed. Only a folder
that is empty or holds an earlier output of globalness (its MARKER file) is replaced."""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

from sim.errors import ScenarioError

MARKER = ".globalness"  # in every output folder: what may be replaced by the next run
TEMPORARY = (".tmp", ".old")  # suffixes of a folder being written or being replaced
LOGS = {"csv": "requests.csv.gz", "parquet": "requests.parquet"}  # --log: the request log's file


def check_out(out: Path | None, option: str = "--out") -> None:
    """Refuse, before any simulation, an output folder that cannot be one: empty text, a
    file, a folder of other files, or a place that cannot be written."""
    if out is None:
        return
    if not str(out).strip():
        raise ScenarioError(f"{option}: '' is empty; give a folder such as out/run")
    if out.exists() and not out.is_dir():
        raise ScenarioError(f"{option}: {out} is a file; give a folder, new or from an earlier run")
    if out.is_dir() and any(out.iterdir()) and not earlier_output(out):
        raise ScenarioError(
            f"{option}: {out} holds files that globalness did not write; give a new or empty "
            "folder, or one an earlier run wrote (it would be replaced whole)"
        )
    existing = next(parent for parent in [out.absolute(), *out.absolute().parents]
                    if parent.exists())  # fmt: skip
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise ScenarioError(f"{option}: {existing} cannot be written; give a folder you can write")


def check_log(log: str) -> str:
    """Refuse, before any simulation and in one line naming the option, a request log the
    folder cannot get: a format not in LOGS, or Parquet without pyarrow. Returns ``log``."""
    if log not in LOGS:
        raise ScenarioError(f"--log: {log!r}: allowed {', '.join(LOGS)}")
    if log == "parquet" and importlib.util.find_spec("pyarrow") is None:
        raise ScenarioError(
            "--log parquet: needs pyarrow, an extra: pip install 'globalness[parquet]'"
        )
    return log


def earlier_output(folder: Path) -> bool:
    """Whether ``folder`` is an output of globalness: its MARKER, or (before the marker) a
    report.md beside a summary.csv, optimize.csv, sweep.csv or size.csv."""
    if (folder / MARKER).exists():
        return True
    tables = ("summary.csv", "optimize.csv", "sweep.csv", "size.csv")
    return (folder / "report.md").exists() and any((folder / name).exists() for name in tables)


def write_folder(out: Path, content: dict[str, bytes], note: str = "") -> list[str]:
    """Write ``content`` (file name -> bytes) as the folder ``out``, whole: into a temporary
    sibling first, then renamed into place (an earlier output there is replaced). Stale
    temporary siblings of interrupted runs are removed first. On any error nothing of this
    run is left and the earlier folder is as it was."""
    check_out(out)
    out = out.absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(out)
    temporary = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp"))
    try:
        for name, data in {**content, MARKER: f"written by globalness {note}\n".encode()}.items():
            (temporary / name).write_bytes(data)
        os.chmod(temporary, 0o777 & ~current_umask())  # mkdtemp makes 0700
        if out.exists():
            old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".old"))
            old.rmdir()
            out.rename(old)
            temporary.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            temporary.rename(out)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return list(content)


def remove_stale(out: Path) -> None:
    """Remove the temporary siblings that interrupted runs into ``out`` left behind."""
    for path in out.parent.glob(f".{out.name}.*"):
        if path.is_dir() and path.name.endswith(TEMPORARY):
            shutil.rmtree(path, ignore_errors=True)


def current_umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def write_atomic(path: Path, content: bytes) -> None:
    """Write one file: to a temp file beside ``path``, then renamed into place."""
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(content)
        os.chmod(temp, 0o666 & ~current_umask())  # mkstemp makes 0600; outputs get the usual mode
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
