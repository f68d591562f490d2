"""A run's output folder: one run at a time, and nothing of a finished run touched.

- :func:`locked`: a run (or a job of a sweep) holds an exclusive lock on its folder while it
  writes (``fcntl.flock`` on ``.zq_sim.lock``; the operating system releases it when the process
  ends, however it ends). A second run into the same folder at the same time is refused with
  :class:`FolderBusy`, so that no folder ever holds the outputs of two runs.
- :func:`finished`: a folder that holds a finished run (``summary.json``) is skipped with
  ``resume=true`` when the config and the data are the same, and refused otherwise, before
  anything is written into it.
- :func:`clear_partial`: the files an earlier, unfinished run left (killed before it wrote
  ``summary.json``) are removed before a new run starts, so that they cannot mix with its own.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from zq_sim.config import ConfigError, OutputsExist

#: The lock file in a run's folder.
LOCK = ".zq_sim.lock"
#: What a run writes into its folder (the lock file aside); an unfinished run's are cleared.
OWN = ("summary.json", "timeseries.parquet", "villages.parquet", "FAILED.txt", ".hydra",
       ".parts")


class FolderBusy(OutputsExist):
    """Another run is writing into the output folder."""


@contextlib.contextmanager
def locked(out_dir: Path) -> Iterator[None]:
    """Hold the exclusive lock on ``out_dir`` (created if missing) for the ``with`` block.

    Raises:
        FolderBusy: another process holds the lock.
        ConfigError: the folder cannot be written.

    """
    out_dir = Path(out_dir)
    path = out_dir / LOCK
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as exc:
        raise ConfigError(f"cannot write into the output folder {out_dir}: "
                          f"{exc.strerror or exc}") from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            raise FolderBusy(f"{out_dir} is in use by another run (process {holder}); not "
                             f"writing into it: wait for it to finish or choose another "
                             f"hydra.run.dir / hydra.sweep.dir") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def finished(out_dir: Path, resolved: dict, resume: bool, data_hash: str | None = None) -> bool:
    """True if ``out_dir`` holds a finished run of this config and data, and resume is on.

    Touches nothing in the folder. Raises OutputsExist rather than overwrite a finished run: of
    another config or data set, or of this one when resume is off.
    """
    summary = Path(out_dir) / "summary.json"
    if not summary.is_file():
        return False
    try:
        stored = json.loads(summary.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        stored = None
    stored = stored if isinstance(stored, dict) else {}
    same_config = stored.get("config") is not None and \
        comparable(stored["config"]) == comparable(resolved)
    stored_hash = (stored.get("data") or {}).get("sha256") if isinstance(
        stored.get("data"), dict) else None
    same_data = data_hash is None or stored_hash == data_hash
    if resume and same_config and same_data:
        print(f"zq_sim: complete outputs of this config already in {out_dir}; skipped (resume)")
        return True
    if not same_config:
        why = "of another config"
    elif not same_data and stored_hash is None:
        why = "that do not record their data (made before zq_sim recorded it)"
    elif not same_data:
        why = (f"made with other data (the data files' hash is {stored_hash[:12]} there, "
               f"{data_hash[:12]} now: see ZQ_DATA_DIR)")
    else:
        why = "(set resume=true to skip complete runs)"
    raise OutputsExist(f"{out_dir} already holds outputs {why}; not overwriting them: choose "
                       f"another hydra.run.dir / hydra.sweep.dir")


def comparable(config: dict) -> dict:
    """A resolved config without the settings that do not change results."""
    c = json.loads(json.dumps(config, default=str))
    c.pop("resume", None)
    if isinstance(c.get("output"), dict):
        c["output"].pop("progress", None)
    return c


def clear_partial(out_dir: Path) -> None:
    """Remove what an unfinished earlier run left in ``out_dir`` (only a run's own files)."""
    out_dir = Path(out_dir)
    for name in OWN:
        path = out_dir / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
    for tmp in out_dir.glob(".*.tmp"):  # temporary files of an interrupted atomic write
        tmp.unlink(missing_ok=True)
