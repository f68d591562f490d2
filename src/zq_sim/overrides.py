"""Check the command line's settings before Hydra starts: one line for each problem.

Hydra checks a setting's type when it composes a config, but accepts a new key written with
``+`` (a typo such as ``+policy.three_assets.platform_coverag=0.9`` runs with the key stored and
the real setting unchanged), lets ``~seed`` remove a setting, and in a sweep aborts every job
with a multi-line message for one bad value. Here every setting is checked against the schema
(``zq_sim.config.RunConfig``) first: an unknown key is refused naming the nearest known one, a
group name must be one of the files in its conf/ folder, and in a sweep every value of every
swept key is composed and validated, so that the sweep refuses before it starts and lists each
bad value in one line.
"""

from __future__ import annotations

import copy
import difflib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from zq_sim.config import ConfigError, describe_fields
from zq_sim.paths import CHECKOUT, CONF_DIR

#: Config groups a command line may choose (conf/<group>/NAME.yaml).
GROUPS = ("scenario", "experiment", "model")
#: Groups that are not in conf/config.yaml's defaults list: chosen with ``+``.
ADDED_GROUPS = ("scenario", "experiment")
#: Flags of Hydra that mean a sweep; any other flag is left to Hydra as it is.
MULTIRUN_FLAGS = ("-m", "--multirun")


def _where(group: str) -> str:
    """Where a new config of a group goes, for an installed package (it has no conf/ to edit)."""
    if CHECKOUT is not None:
        return ""
    return f" (a new {group} is a file in conf/{group}/ of a checkout of the project)"


def choices(group: str) -> list[str]:
    """Names of the configs in one group of conf/ (scenario, experiment, model)."""
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


@lru_cache(maxsize=1)
def schema_keys() -> frozenset[str]:
    """Every key of the schema: settings and the sections that hold them (``policy.land``)."""
    leaves = {row["name"] for row in describe_fields()}
    sections = {".".join(name.split(".")[:i]) for name in leaves
                for i in range(1, name.count(".") + 1)}
    return frozenset(leaves | sections)


def nearest_key(key: str) -> str:
    """The known setting nearest to ``key`` (difflib), preferring those of the same section."""
    keys = sorted(schema_keys())
    section = key.rpartition(".")[0]
    pool = [k for k in keys if k.rpartition(".")[0] == section] or keys
    best = difflib.get_close_matches(key, pool, n=1, cutoff=0.0)
    return best[0] if best else keys[0]


def _is_hydra(key: str) -> bool:
    return key == "hydra" or key.startswith(("hydra.", "hydra/"))


def _values(override) -> list[str]:
    """The values of an override as strings (every value of a sweep)."""
    if override.is_sweep_override():
        try:
            return [str(v) for v in override.sweep_string_iterator()]
        except Exception:  # noqa: BLE001 - glob() and other sweeps with no fixed values
            return []
    value = override.value()
    return [] if value is None else [str(value)]


def check_key(override) -> str | None:
    """An error line for an override whose key or group choice is not allowed, else None."""
    key, package = override.key_or_group, override.package
    if _is_hydra(key):
        return None
    text = override.input_line
    if not key:
        return f"{text}: a setting needs a name (key=value)"
    if key in GROUPS and (package is not None or key in ADDED_GROUPS or "/" in key):
        if override.is_delete():
            return f"{text}: a config group cannot be removed"
        if package not in (None, "", "_global_"):
            return f"{text}: the {key} group is placed with @_global_ or not at all"
        known = choices(key)
        for name in _values(override):
            if name not in known:
                return f"unknown {key} '{name}'; choose one of: {', '.join(known)}{_where(key)}"
        if key in ADDED_GROUPS and not override.is_add():
            value = override.get_value_element_as_str()
            return f"{text}: add a {key} with a plus sign: +{key}={value}"
        return None
    if key in GROUPS:  # model=NAME: the group in the defaults list
        known = choices(key)
        for name in _values(override):
            if name not in known:
                return f"unknown {key} '{name}'; choose one of: {', '.join(known)}"
        if override.is_delete():
            return f"{text}: the model group cannot be removed (model=priors or model=calibrated)"
        return None
    if package is not None:
        return f"{text}: only config groups take a @package"
    if key not in schema_keys():
        return (f"{key}: unknown setting; the nearest known setting is {nearest_key(key)} "
                f"(every setting is listed in src/zq_sim/config.py)")
    if override.is_delete():
        return f"{text}: a setting cannot be removed; give it a value instead ({key}=...)"
    if override.is_add():
        return f"{text}: {key} is a setting already: write {text[1:]} (without +)"
    return None


def parse(args: Iterable[str]) -> list:
    """Hydra's parse of the overrides (raises ConfigError with the first line of its message)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        return OverridesParser.create().parse_overrides(list(args))
    except Exception as exc:  # noqa: BLE001 - Hydra's parse errors
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"cannot read the command line: {first}") from exc


@dataclass
class CommandLine:
    """The overrides of one command, split the way the checks need them."""

    args: list[str]
    sweep: bool
    parsed: list = field(default_factory=list)

    @classmethod
    def read(cls, argv: list[str]) -> CommandLine | None:
        """The command's overrides, or None when Hydra's other flags are given (left to it)."""
        flags = [a for a in argv if a.startswith("-")]
        if any(f not in MULTIRUN_FLAGS for f in flags):
            return None
        args = [a for a in argv if not a.startswith("-")]
        return cls(args=args, sweep=bool(flags), parsed=parse(args))


def key_errors(parsed: list) -> list[str]:
    """One line for every override with an unknown key or group choice."""
    return [line for line in (check_key(o) for o in parsed) if line]


def describe(exc: BaseException) -> str:
    """One line for an error raised while composing or typing the config."""
    from omegaconf.errors import OmegaConfBaseException

    chain, e = [], exc
    while e is not None and len(chain) < 10:
        chain.append(e)
        e = e.__cause__ or e.__context__
    for e in chain:
        if isinstance(e, ConfigError):
            return str(e)
        if isinstance(e, OmegaConfBaseException) and getattr(e, "full_key", None):
            first = str(e).splitlines()[0]
            if " not in " in first:
                key = str(e.full_key)
                return (f"{key}: unknown setting; the nearest known setting is "
                        f"{nearest_key(key)} (every setting is listed in src/zq_sim/config.py)")
            return f"{e.full_key}: {first}"
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _typed(cfg, check_ranges: bool = True):
    """The composed config as a RunConfig, its ranges checked unless told not to."""
    from omegaconf import OmegaConf

    from zq_sim.config import validate

    typed = OmegaConf.to_object(cfg)
    return validate(typed) if check_ranges else typed


def _writable(path: Path) -> str | None:
    """An error line if outputs cannot be written at ``path`` (a folder, maybe not there yet)."""
    path = Path(path).absolute()
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        return f"cannot write outputs into {path}: {probe} is not a folder"
    if not os.access(probe, os.W_OK | os.X_OK):
        return (f"cannot write outputs into {path}: {probe} is not writable (choose another "
                f"hydra.run.dir / hydra.sweep.dir)")
    return None


def check(argv: list[str]) -> list[str]:
    """Every problem of a command line, one line each (empty: nothing found).

    A single run's config is composed and validated. In a sweep (``-m``, or an experiment that
    sets ``hydra.mode: MULTIRUN``) the settings that are not swept are composed and validated,
    and every value of every swept key is composed with them: a value Hydra cannot compose (an
    unknown key, a wrong type) would abort every job, so the sweep is refused before it starts,
    listing each; a value outside its range fails its own job, which leaves FAILED.txt.
    """
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    try:
        line = CommandLine.read(argv)
    except ConfigError as exc:
        return [str(exc)]
    if line is None:
        return []
    errors = key_errors(line.parsed)
    if errors:
        return errors
    fixed = [o.input_line for o in line.parsed if not o.is_sweep_override()]
    swept = [o for o in line.parsed if o.is_sweep_override()]
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        try:
            base = compose(config_name="config", overrides=fixed, return_hydra_config=True)
        except Exception as exc:  # noqa: BLE001 - Hydra and OmegaConf raise many kinds
            return [describe(exc)]
        sweeping = line.sweep or str(OmegaConf.select(base, "hydra.mode")) == "RunMode.MULTIRUN"
        if swept and not sweeping:
            return [f"{swept[0].input_line}: several values need a sweep: add -m"]
        params = OmegaConf.select(base, "hydra.sweeper.params") or {}
        try:
            from_experiment = parse(f"{k}={v}" for k, v in params.items())
        except ConfigError as exc:
            return [str(exc)]
        errors = key_errors(from_experiment)
        if errors:
            return errors
        swept += [o for o in from_experiment if o.is_sweep_override()]
        fixed += [o.input_line for o in from_experiment if not o.is_sweep_override()]
        task_fixed = [a for a in fixed if not _is_hydra(a.lstrip("+~").split("=")[0]
                                                        .split("@")[0])]
        configs, errors = [], []
        try:
            task_base = compose(config_name="config", overrides=task_fixed)
            configs.append(_typed(task_base))
        except Exception as exc:  # noqa: BLE001
            return [describe(exc)]
        for o in swept:
            for value in _values(o):
                setting = f"{o.get_key_element()}={value}"
                try:
                    if o.key_or_group in GROUPS or o.package is not None:
                        cfg = compose(config_name="config", overrides=[*task_fixed, setting])
                    else:  # a setting: typed on a copy (composing again costs ~50 ms a value)
                        cfg = copy.deepcopy(task_base)
                        OmegaConf.update(cfg, o.key_or_group, None if value == "null" else value)
                    configs.append(_typed(cfg, check_ranges=False))
                except Exception as exc:  # noqa: BLE001
                    line = describe(exc)
                    errors.append(line if line.startswith(o.key_or_group) else
                                  f"{setting}: {line}")
        if errors:
            return errors
        out = OmegaConf.select(base, "hydra.sweep.dir" if sweeping else "hydra.run.dir")
    problem = _writable(Path(str(out))) or _data_and_memory(configs[0])
    return [problem] if problem else []


def _data_and_memory(cfg) -> str | None:
    """An error line if the data files are broken or the run cannot fit this machine's memory."""
    from zq_sim import data, resources

    try:
        data.load_targets()
        data.load_counties()
        data.load_villages(include_residents=cfg.population.include_residents_committees)
        resources.check(cfg, echo=None)
    except (data.DataError, ConfigError) as exc:
        return str(exc)
    return None


def _own_keys(settings: Any, prefix: str) -> tuple[set[str], set[str]]:
    """The keys of a settings dataclass under ``prefix``, and the dict-valued ones (open)."""
    import dataclasses

    keys, open_ = set(), set()
    for f in dataclasses.fields(settings):
        name = f"{prefix}.{f.name}"
        keys.add(name)
        value = getattr(settings, f.name)
        if dataclasses.is_dataclass(value):
            inner, inner_open = _own_keys(value, name)
            keys |= inner
            open_ |= inner_open
        elif isinstance(value, dict):
            open_.add(name)
    return keys, open_


def check_app(argv: list[str], config_name: str, section: str, settings: Any) -> list[str]:
    """Every problem of a ``python -m zq_sim.<app>`` command line, one line each.

    ``section`` (e.g. ``ensemble``) is the app's own group of settings, checked against the
    ``settings`` dataclass (an unknown key is named with the nearest known one of it); the
    run's settings are checked as ``python -m zq_sim`` checks them; then the config
    ``config_name`` is composed and typed, and its problem, if any, given in one line.
    """
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    if any(a.startswith("-") for a in argv):
        return []  # Hydra's own flags (--help, --cfg ...)
    try:
        parsed = parse(argv)
    except ConfigError as exc:
        return [str(exc)]
    keys, open_ = _own_keys(settings, section)
    errors = []
    for o in parsed:
        key = o.key_or_group
        if key == section or key.startswith(f"{section}."):
            dotted = [k for k in open_ if key.startswith(f"{k}.")
                      and key[len(k) + 1:].split(".")[0] in ("model", "policy")]
            if dotted:
                errors.append(f"{key}: the entries of {dotted[0]} are named with dots (such as "
                              "model.irregular_share), which Hydra splits on the command "
                              f"line: change them in conf/{config_name}.yaml")
            elif key not in keys and not any(key.startswith(f"{k}.") for k in open_):
                near = difflib.get_close_matches(key, sorted(keys), n=1, cutoff=0.0)
                errors.append(f"{key}: unknown setting; the nearest known setting is "
                              f"{near[0] if near else section} (every setting of {section} is "
                              f"listed in conf/{config_name}.yaml)")
            elif o.is_delete() or (o.is_add() and key in keys):
                errors.append(f"{o.input_line}: {key} is a setting: write {key}=VALUE")
        elif key in ADDED_GROUPS:
            errors.append(f"{o.input_line}: python -m zq_sim.{config_name} does not take a "
                          f"{key}")
        else:
            line = check_key(o)
            if line:
                errors.append(line)
    if errors:
        return errors
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            task = compose(config_name=config_name,
                           overrides=[a for a in argv if not _is_hydra(a.lstrip("+~")
                                                                       .split("=", 1)[0])])
        OmegaConf.to_object(task)
    except Exception as exc:  # noqa: BLE001 - Hydra, OmegaConf and ours raise many kinds
        return [describe(exc)]
    return []


def refuse(label: str, problems: list[str]) -> None:
    """Print each problem as ``<label>: error: ...`` and exit with 2; nothing when none."""
    import sys

    for problem in problems:
        print(f"{label}: error: {problem}", file=sys.stderr)
    if problems:
        sys.exit(2)


def checked_app(app: Any, config_name: str, section: str, settings: Any) -> None:
    """Run the Hydra ``app`` of ``python -m zq_sim.<config_name>`` if its command line passes.

    Else (:func:`check_app`) print each problem in one line and exit with 2.
    """
    import sys

    refuse(f"zq_sim.{config_name}", check_app(sys.argv[1:], config_name, section, settings))
    app()
