"""Start the dashboard: ``python -m zq_sim.dashboard [--port N] [--host H]``.

Runs ``solara run`` on :mod:`zq_sim.dashboard.app` in production mode, without opening a
browser and without Solara's version check and telemetry (both would reach the internet). The
page's JavaScript and CSS come from the ``solara-assets`` package, so it works offline.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import socket
import sys

APP = "zq_sim.dashboard.app"


def parse(argv: list[str]) -> argparse.Namespace:
    """The command line's options."""
    parser = argparse.ArgumentParser(
        prog="python -m zq_sim.dashboard",
        description="Start zq_sim's dashboard (a Solara page) and print its address.")
    parser.add_argument("--port", type=int, default=8765, help="port to serve on (default 8765)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this machine only)")
    return parser.parse_args(argv)


def problem(args: argparse.Namespace) -> str | None:
    """One line saying why the dashboard cannot start, or None."""
    if importlib.util.find_spec("solara") is None:
        return ("solara is not installed: install the dashboard extra "
                "(.venv/bin/pip install -e '.[dashboard]')")
    if not 1 <= args.port <= 65535:
        return f"--port = {args.port} is outside the allowed range [1, 65535]"
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((args.host, args.port))
    except OSError as exc:
        return (f"--port = {args.port} on {args.host} cannot be used ({exc.strerror}): "
                f"choose another")
    return None


def command(args: argparse.Namespace) -> list[str]:
    """The ``solara run`` command line."""
    return [sys.executable, "-m", "solara", "run", APP, "--port", str(args.port),
            "--host", args.host, "--production", "--no-open", "--no-check-version",
            "--log-level", "warning"]


def main(argv: list[str] | None = None) -> None:
    """Check the options, then replace this process by Solara's server."""
    args = parse(sys.argv[1:] if argv is None else argv)
    if (why := problem(args)) is not None:
        print(f"zq_sim.dashboard: error: {why}", file=sys.stderr)
        sys.exit(2)
    os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")
    print(f"zq_sim.dashboard: serving on http://{args.host}:{args.port} (Ctrl-C stops it)",
          flush=True)
    os.execv(sys.executable, command(args))


if __name__ == "__main__":
    main()
