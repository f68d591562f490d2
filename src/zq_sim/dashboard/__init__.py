"""An interactive dashboard: the model run live in the browser (``python -m zq_sim.dashboard``).

- :mod:`zq_sim.dashboard.live`: settings to a config (as the command line composes it), runs,
  and the tables the page shows;
- :mod:`zq_sim.dashboard.figures`: the figures, tables in and (figure, axes) out;
- :mod:`zq_sim.dashboard.app`: the Solara page;
- ``__main__``: starts Solara's server on the page.

Needs the ``dashboard`` extra (``pip install -e '.[dashboard]'``; the ``test`` extra has it).
"""
