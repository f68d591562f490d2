"""Where zq_sim's configuration and data live (one place for every path the package uses).

conf/ and data/ sit at the top of a checkout, where users add scenario files, and ship inside
the package as ``zq_sim.conf`` and ``zq_sim.data_files`` (``zq_sim.data`` is the module that
reads the files): src/zq_sim/conf and src/zq_sim/data_files are symbolic links to the two
folders, so that an editable install stays a plain src layout and a wheel gets the files
themselves. Both are found through :mod:`importlib.resources`, so that an editable install (the
checkout's folders) and an installed wheel (its copies) are found the same way, and Hydra's
``initialize_config_module("zq_sim.conf")`` works in both.

A few things need a checkout and not just the package: the calibration (it writes
conf/model/calibrated.yaml and experiments/calibration/), the README's figures (docs/figures/)
and docs/outputs.md. They ask :func:`checkout`, which says in one line what is missing.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

#: The folder above src/ when zq_sim runs from a source tree (a checkout, editable or not).
_SOURCE_ROOT = Path(__file__).resolve().parents[2]


class CheckoutNeeded(RuntimeError):
    """Something only a checkout of the project has (zq_sim is installed as a package)."""


def _package_dir(package: str, folder: str) -> Path:
    """The folder of a data package (``zq_sim.conf``), else the source tree's ``folder``."""
    try:
        return Path(str(resources.files(package))).resolve()
    except ModuleNotFoundError:  # a checkout whose file system kept no symbolic links
        return _SOURCE_ROOT / folder


def _find_checkout() -> Path | None:
    """The project folder if zq_sim runs from a checkout (pyproject.toml beside src/)."""
    root = _SOURCE_ROOT
    if (root / "pyproject.toml").is_file() and (root / "src" / "zq_sim").is_dir():
        return root
    return None


#: Hydra's configuration tree: conf/ of the checkout, or zq_sim/conf/ of an installed wheel.
CONF_DIR = _package_dir("zq_sim.conf", "conf")
#: The data files: data/ of the checkout, or zq_sim/data_files/ of an installed wheel (runs read
#: $ZQ_DATA_DIR instead when it is set: :data:`zq_sim.data.DATA_DIR`).
PACKAGE_DATA_DIR = _package_dir("zq_sim.data_files", "data")
#: The checkout (conf/, data/, docs/, experiments/ beside src/), or None when installed.
CHECKOUT: Path | None = _find_checkout()
#: The checkout, or where the installed package sits; folders only a checkout has (docs/,
#: experiments/) are to be had through :func:`checkout`.
ROOT = CHECKOUT or Path(__file__).resolve().parent


def checkout(what: str) -> Path:
    """The checkout's folder, for ``what`` needs one; :class:`CheckoutNeeded` otherwise.

    Args:
        what: what needs it, as the start of the error's sentence ("the calibration").

    """
    if CHECKOUT is None:
        raise CheckoutNeeded(
            f"{what} needs a checkout of the project (git clone, then bash scripts/bootstrap.sh)"
            f"; this zq_sim is an installed package ({Path(__file__).resolve().parent})")
    return CHECKOUT
