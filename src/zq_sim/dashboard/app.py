"""The dashboard page (Solara): pick a scenario, move its levers, see the model run live.

Every change of the settings composes the config as ``python -m zq_sim`` would (the calibrated
model, the scenario's file, the levers as overrides), runs its replicates in a worker thread with
a progress bar (a city run to 2035 takes a fraction of a second per replicate), and redraws:
income paths with bands, weak villages on their own income, counties, income by source, each
against the baseline scenario. Started by ``python -m zq_sim.dashboard`` (see its ``__main__``).
"""

from __future__ import annotations

import math

import solara
from solara.lab import use_task

from zq_sim import outputs
from zq_sim.config import ConfigError
from zq_sim.dashboard import figures
from zq_sim.dashboard.live import (
    LEVERS,
    REFERENCE,
    Lever,
    LiveRun,
    compose_config,
    county_table,
    headline,
    reference_run,
    run_live,
    scenario_description,
    scenario_levers,
    scenarios,
    weak_village_table,
)

TITLE = "zq_sim: village collective income in Zhaoqing, live"
#: Last simulated years the page offers.
FIRST_END, LAST_END = 2026, 2035


def _display(lever: Lever, value: float) -> float:
    return round(float(value) * lever.factor, 6)


def lever_class(key: str) -> str:
    """The CSS class of a lever's control (for tests and screenshots)."""
    return "zq-lever-" + key.replace(".", "-")


@solara.component
def LeverControl(lever: Lever, value, on_change):
    """One lever: its name and value above a slider in display units, or a checkbox."""
    if lever.kind == "bool":
        with solara.Row(classes=[lever_class(lever.key)], style={"align-items": "center"}):
            solara.Checkbox(label="", value=bool(value), on_value=on_change,
                            style="flex: 0 0 auto")
            solara.Text(lever.label, style={"font-size": "0.9em", "color": "#444"})
        return
    with solara.Column(gap="0px", classes=[lever_class(lever.key)],
                       style={"margin-bottom": "-6px"}):
        shown = _display(lever, value)
        text = f"{shown:g}" if lever.kind == "int" else f"{shown:.3g}"
        solara.Text(f"{lever.label}: {text} {lever.unit}".rstrip(),
                    style={"font-size": "0.85em", "color": "#444"})
        if lever.kind == "int":
            solara.SliderInt("", value=int(value), min=int(lever.lo), max=int(lever.hi),
                             step=int(lever.step), on_value=on_change)
        else:
            solara.SliderFloat("", value=shown, min=_display(lever, lever.lo),
                               max=_display(lever, lever.hi), step=_display(lever, lever.step),
                               on_value=lambda v: on_change(v / lever.factor))


def _money(yuan: float, year_unit: str = "") -> str:
    if not math.isfinite(yuan):
        return "n/a"
    if abs(yuan) >= 1e8:
        return f"{yuan / 1e8:,.2f} 亿元{year_unit}"
    return f"{yuan / 1e4:,.1f} 万元{year_unit}"


#: The year's key numbers: (column, how its value is written); labels from the registry.
HEADLINES = (
    ("mean_operating_income", lambda x: _money(x)),
    ("p10_operating_income", lambda x: _money(x)),
    ("share_own_below_150k", lambda x: f"{x:.1%}"),
    ("share_own_below_200k", lambda x: f"{x:.1%}"),
    ("villages_supported", lambda x: f"{x:,.0f}"),
    ("public_support", lambda x: _money(x, " a year")),
    ("public_spending", lambda x: _money(x, " a year")),
)


@solara.component
def Headlines(run: LiveRun, reference: LiveRun, year: int):
    """The year's key numbers: mean [90% of replicates], and the baseline's mean beside them."""
    mine, base = solara.use_memo(lambda: (headline(run, year), headline(reference, year)),
                                 [run.token, reference.token, year])
    rows = []
    for key, fmt in HEADLINES:
        if key not in mine:
            continue
        mean, lo, hi = mine[key]
        ref = base.get(key, (math.nan,))[0]
        rows.append(f"| {outputs.label(key)} | **{fmt(mean)}** | {fmt(lo)} – {fmt(hi)} | "
                    f"{fmt(ref)} |")
    solara.Markdown(
        f"#### {year}: {run.label} against the baseline\n\n"
        "| per village unless stated | this run | 90% of replicates | baseline |\n"
        "|---|---:|---:|---:|\n" + "\n".join(rows),
        style={"font-size": "0.95em"})


def make_figures(run: LiveRun, reference: LiveRun, year: int) -> list:
    """The figures of a run against the baseline (the baseline alone if it is the run)."""
    import pandas as pd

    runs = [run] if run.label == REFERENCE else [run, reference]
    ts = pd.concat([r.timeseries for r in runs], ignore_index=True)
    weak = pd.concat([weak_village_table(r) for r in runs], ignore_index=True)
    counties = pd.concat([county_table(r, year) for r in runs], ignore_index=True)
    made = [figures.plot_income_paths(ts)[0], figures.plot_weak_villages(weak)[0],
            figures.plot_counties(counties)[0], figures.plot_income_sources(ts)[0]]
    if figures.public_items(ts):
        made.append(figures.plot_public_money(ts)[0])
    return made


@solara.component
def Figures(run: LiveRun, reference: LiveRun, year: int):
    """The figures, drawn once per run and year (not again on every redraw of the page)."""
    key = [run.token, reference.token, year]
    for fig in solara.use_memo(lambda: make_figures(run, reference, year), key):
        solara.FigureMatplotlib(fig, format="png", dpi=110, dependencies=key)


def run_label(scenario: str, levers: dict, defaults: dict) -> str:
    """The scenario's name, marked when a lever differs from the scenario's own value."""
    changed = [k for k, v in levers.items()
               if k not in defaults or not math.isclose(float(v), float(defaults[k]),
                                                        rel_tol=1e-9, abs_tol=1e-12)]
    return scenario if not changed else f"{scenario} + your levers"


@solara.component
def Page():
    """The dashboard."""
    scenario = solara.use_reactive(REFERENCE)
    defaults = solara.use_memo(lambda: scenario_levers(scenario.value), [scenario.value])
    levers = solara.use_reactive(scenario_levers(REFERENCE))
    replicates = solara.use_reactive(3)
    end = solara.use_reactive(LAST_END)
    year = solara.use_reactive(LAST_END)
    holder = solara.use_ref(None)

    def choose(name: str) -> None:
        scenario.set(name)
        levers.set(scenario_levers(name))

    settings = (scenario.value, tuple(sorted(levers.value.items())), replicates.value, end.value)

    def work() -> tuple[LiveRun, LiveRun] | str:
        task = holder.current
        steps = 2 * replicates.value

        def progress(done: int, _total: int, offset: int = 0) -> None:
            if task is not None:
                task.progress = 100.0 * (offset + done) / steps

        try:
            cfg = compose_config(scenario.value, levers.value, replicates.value, end.value)
        except (ConfigError, ValueError) as exc:
            return f"zq_sim: error: {exc}"
        reference = reference_run(replicates.value, end.value)
        progress(replicates.value, steps)
        label = run_label(scenario.value, levers.value, defaults)
        run = run_live(cfg, label, lambda d, t: progress(d, t, replicates.value),
                       cancelled=lambda: task is not None and not task.is_current())
        return "cancelled" if run is None else (run, reference)

    task = use_task(work, dependencies=[settings], raise_error=False)
    holder.current = task

    solara.Title("zq_sim dashboard")
    with solara.Columns([1, 3], style={"padding": "8px"}):
        with solara.Card(style={"max-width": "400px"}):
            Controls(scenario.value, choose, replicates, end, year, levers, defaults)
        with solara.Column():
            solara.Markdown(f"## {TITLE}")
            Results(task, scenario.value, replicates.value, year.value)


@solara.component
def Controls(scenario: str, choose, replicates, end, year, levers, defaults):
    """The settings: scenario, replicates, years, the levers and the shocks."""
    with solara.Column(classes=["zq-scenario"]):
        solara.Select("Scenario", values=scenarios(), value=scenario, on_value=choose)
        solara.Text(scenario_description(scenario), style={"font-size": "0.8em", "color": "#555",
                                                           "line-height": "1.3"})
    for label, var, lo, hi in ((f"Replicates: {replicates.value}", replicates, 1, 20),
                               (f"Last year: {end.value}", end, FIRST_END, LAST_END),
                               (f"Year of the numbers and counties: {year.value}", year, 2024,
                                end.value)):
        solara.Text(label, style={"font-size": "0.85em", "color": "#444"})
        solara.SliderInt("", value=var.value, min=lo, max=hi, on_value=var.set)
    solara.Markdown("**Policy levers** (from 2024)")
    for lever in (x for x in LEVERS if not x.shock):
        LeverControl(lever, levers.value[lever.key],
                     lambda v, k=lever.key: levers.set({**levers.value, k: v}))
    solara.Markdown("**Shocks** (from 2025)")
    for lever in (x for x in LEVERS if x.shock):
        LeverControl(lever, levers.value[lever.key],
                     lambda v, k=lever.key: levers.set({**levers.value, k: v}))
    solara.Button("Reset levers to the scenario", on_click=lambda: levers.set(defaults),
                  outlined=True)


@solara.component
def Results(task, scenario: str, replicates: int, year: int):
    """Progress while running; then the numbers and the figures."""
    busy = task.pending
    solara.ProgressLinear(task.progress if busy and task.progress else busy)
    if busy:
        solara.Text(f"Running {replicates} replicates of {scenario} and of the baseline to "
                    "compare with ...", classes=["zq-status-running"])
    if task.error:
        solara.Error(f"The run failed: {task.exception!r}")
        return
    value = task.latest if busy else task.value
    if isinstance(value, str):
        if value.startswith("zq_sim: error"):
            solara.Error(value)
        return
    if value is None:
        return
    run, reference = value
    shown = min(year, int(run.timeseries["year"].max()))
    with solara.Column(classes=["zq-status-done"]):
        solara.Markdown(
            f"Scenario **{run.label}**, {run.timeseries['seed'].nunique()} replicates, "
            f"calibrated model; this run in its scenario's colour (as in the reports), grey: the "
            f"baseline (the 2024 policy mix continued). Money in 万元 (10,000 yuan) or 亿元 "
            f"(100 million yuan).")
        Headlines(run, reference, shown)
        Figures(run, reference, shown)
