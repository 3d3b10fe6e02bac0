# Shared by ops/demo and ops/test: create .venv with Python >= 3.11 and install cxgov into it.
# Usage (sourced): ensure_venv ""        # runtime dependencies
#                  ensure_venv "[dev]"   # plus the test and lint tools
PYTHON="${PYTHON:-python3}"
VENV=.venv

need_python() {
  "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'
}

ensure_venv() {
  local extras="$1"
  if [[ ! -x "$VENV/bin/python" ]]; then
    if ! command -v "$PYTHON" >/dev/null 2>&1; then
      echo "$0: $PYTHON not found; cxgov needs Python >= 3.11 (set PYTHON=...)" >&2
      exit 1
    fi
    if ! need_python "$PYTHON"; then
      echo "$0: cxgov needs Python >= 3.11, but $PYTHON is $("$PYTHON" -V 2>&1)" >&2
      exit 1
    fi
    echo "==> creating $VENV with $("$PYTHON" -V 2>&1)"
    "$PYTHON" -m venv "$VENV"
  elif ! need_python "$VENV/bin/python"; then
    echo "$0: $VENV has $("$VENV/bin/python" -V 2>&1); cxgov needs >= 3.11 (delete $VENV)" >&2
    exit 1
  fi
  echo "==> pip install -e '.${extras}'"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e ".${extras}"
}
