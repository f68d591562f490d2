#!/usr/bin/env bash
# Set up zq_sim's virtual environment (.venv) from nothing, with a Python 3.12 or 3.13.
#
# Finds an interpreter itself: $ZQ_PYTHON if set, then python3.13 / python3.12 / python3 on PATH
# (each is actually run, so a pyenv shim that fails is skipped), then pyenv's installed versions.
# Mesa 3.5 needs Python >= 3.12; Hydra 1.3's command line breaks on 3.14, so 3.14+ is refused.
# Idempotent: an existing .venv of a suitable version is reused and only updated.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="${ZQ_VENV:-$here/.venv}"

ok() {  # ok PYTHON -> true if it runs and is 3.12 or 3.13
  "$1" -c 'import sys; sys.exit(0 if (3, 12) <= sys.version_info[:2] < (3, 14) else 1)' >/dev/null 2>&1
}

find_python() {
  local c
  for c in "${ZQ_PYTHON:-}" python3.13 python3.12 python3; do
    [ -n "$c" ] || continue
    if command -v "$c" >/dev/null 2>&1 && ok "$(command -v "$c")"; then command -v "$c"; return 0; fi
  done
  local root
  root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
  for c in "$root"/versions/3.13*/bin/python3 "$root"/versions/3.12*/bin/python3; do
    if [ -x "$c" ] && ok "$c"; then echo "$c"; return 0; fi
  done
  return 1
}

if [ -x "$venv/bin/python" ] && ok "$venv/bin/python"; then
  py="$venv/bin/python"
else
  if ! base=$(find_python); then
    echo "zq_sim: no Python 3.12 or 3.13 found (tried \$ZQ_PYTHON, python3.13, python3.12, python3 and pyenv's versions)." >&2
    echo "zq_sim: install one (e.g. 'pyenv install 3.12') or point ZQ_PYTHON at it; Mesa 3.5 needs Python >= 3.12." >&2
    exit 2
  fi
  echo "zq_sim: creating $venv with $base ($("$base" --version 2>&1))" >&2
  rm -rf "$venv"
  "$base" -m venv "$venv"
  py="$venv/bin/python"
fi

# Install (or update) the package and its test tools; quiet unless something goes wrong.
"$py" -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null
"$py" -m pip install --quiet --disable-pip-version-check -e "$here[test]"
