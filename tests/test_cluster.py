"""Sweeps through the cluster launchers: conf/hydra/launcher/cluster_*.yaml (submitit).

The slow tests run real sweeps: through ``cluster_local`` (submitit's local executor: every job
pickled, run by a fresh Python, logged under <sweep>/.submitit/, as on a cluster), and through
``cluster_slurm`` up to ``sbatch``, with a stand-in sbatch that records the script it is given.
Run them with ``python -m pytest -m slow tests/test_cluster.py``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from zq_sim.callbacks import FAILED

CONF_DIR = (Path(__file__).resolve().parent.parent / "conf").resolve()


def _has_submitit_launcher() -> bool:
    try:
        return importlib.util.find_spec("hydra_plugins.hydra_submitit_launcher") is not None
    except ImportError:  # no hydra_plugins namespace at all
        return False


pytestmark = pytest.mark.skipif(
    not _has_submitit_launcher(),
    reason="hydra-submitit-launcher is not installed (pip install -e '.[cluster]')")

#: A small sweep: two jobs of one replicate over two years.
SMALL = ["replicates=1", "years.end=2025", "output.counterfactual=false"]


def _sweep(tmp_path: Path, *args: str, env_path: str | None = None,
           timeout: int = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    if env_path:
        env["PATH"] = env_path + os.pathsep + env.get("PATH", "")
    return subprocess.run(
        [sys.executable, "-m", "zq_sim", "-m", *args, f"hydra.sweep.dir={tmp_path / 'sweep'}"],
        cwd=tmp_path, capture_output=True, text=True, timeout=timeout, env=env)


def _jobs(sweep: Path) -> dict[str, Path]:
    """Job folders of a sweep by name (leaving out .submitit/)."""
    return {p.name: p for p in sweep.iterdir() if p.is_dir() and not p.name.startswith(".")}


@pytest.mark.parametrize("launcher", ["cluster_local", "cluster_slurm"])
def test_cluster_launchers_compose_with_the_project_config(launcher):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="config", return_hydra_config=True,
                      overrides=[f"hydra/launcher={launcher}", "+scenario=baseline"])
    conf = cfg.hydra.launcher
    kind = launcher.split("_")[1].capitalize()
    assert conf._target_.endswith(f"hydra_submitit_launcher.submitit_launcher.{kind}Launcher")
    assert conf.timeout_min > 0 and conf.cpus_per_task == 1 and conf.mem_gb >= 1
    assert conf.submitit_folder.startswith(f"{cfg.hydra.sweep.dir}/")  # logs beside the jobs
    if launcher == "cluster_slurm":
        assert conf.partition is None and conf.account is None and conf.array_parallelism > 0


@pytest.mark.slow
def test_sweep_runs_unchanged_through_the_local_cluster_launcher(tmp_path):
    result = _sweep(tmp_path, "hydra/launcher=cluster_local",
                    "+scenario=baseline,no_reform", *SMALL)
    assert result.returncode == 0, result.stderr
    sweep = tmp_path / "sweep"
    jobs = _jobs(sweep)
    assert len(jobs) == 2, sorted(jobs)
    for scenario in ("baseline", "no_reform"):
        (job,) = [p for name, p in jobs.items() if f"+scenario={scenario}," in name]
        summary = json.loads((job / "summary.json").read_text(encoding="utf-8"))
        assert summary["config"]["scenario"] == scenario
        assert not (job / FAILED).exists()
    # submitit ran the jobs (each in its own process, logged beside the sweep's jobs)
    logs = list((sweep / ".submitit").rglob("*_log.out"))
    assert len(logs) == 2
    assert all("Job completed successfully" in p.read_text(encoding="utf-8") for p in logs)


@pytest.mark.slow
def test_failed_job_writes_failed_txt_under_the_local_cluster_launcher(tmp_path):
    result = _sweep(tmp_path, "hydra/launcher=cluster_local", "+scenario=baseline",
                    "replicates=1", "years.end=2025,2020", "output.counterfactual=false")
    assert result.returncode == 1, result.stderr
    assert "1 job(s) of the sweep failed" in result.stderr
    jobs = _jobs(tmp_path / "sweep")
    (ok,) = [p for name, p in jobs.items() if "years.end=2025" in name]
    (bad,) = [p for name, p in jobs.items() if "years.end=2020" in name]
    assert (ok / "summary.json").is_file()
    text = (bad / FAILED).read_text(encoding="utf-8")
    assert "years.end = 2020 is outside the allowed range" in text
    assert "python -m zq_sim hydra.mode=RUN" in text


STAND_IN_SBATCH = """\
#!/bin/sh
# stand-in sbatch: keep the script, submit nothing
cp "$1" "{record}"
echo "stand-in sbatch: not submitting" >&2
exit 1
"""


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="stand-in sbatch is a shell script")
def test_slurm_launcher_hands_the_sweep_to_sbatch_as_one_array(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "job.sbatch"
    (bin_dir / "sbatch").write_text(STAND_IN_SBATCH.format(record=record))
    (bin_dir / "srun").write_text("#!/bin/sh\nexit 1\n")  # submitit only checks it is there
    for name in ("sbatch", "srun"):
        (bin_dir / name).chmod(0o755)
    result = _sweep(tmp_path, "hydra/launcher=cluster_slurm", "hydra.launcher.partition=short",
                    "hydra.launcher.account=proj42", "hydra.launcher.timeout_min=30",
                    "hydra.launcher.array_parallelism=1", "+scenario=baseline,no_reform",
                    *SMALL, env_path=str(bin_dir), timeout=120)
    assert result.returncode != 0  # nothing was submitted
    script = record.read_text(encoding="utf-8")
    for flag in ("--partition=short", "--account=proj42", "--time=30", "--array=0-1%1",
                 "--cpus-per-task=1", "--mem=2GB", "--job-name=zq_sim",
                 f"--output={tmp_path / 'sweep' / '.submitit'}"):
        assert f"#SBATCH {flag}" in script, (flag, script)
    assert f"{sys.executable} -u -m submitit.core._submit" in script  # the same Python
