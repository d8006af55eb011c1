#!/usr/bin/env bash
# Installs DeepProbLog 2.1.0 into its own virtualenv, benchmarks/out/peers/deepproblog-venv,
# for the side-by-side peer benchmark (benchmarks/peers/deepproblog_addition.py).
#
# Everything comes from PyPI through pip (nothing else is downloaded, neither now nor when
# the peer runs). Idempotent: does nothing when the venv already imports deepproblog 2.1.0.
#
# Why --no-deps for deepproblog itself: its metadata requires torchvision, which only its
# bundled examples use (to download MNIST); the core (model, engines, train, evaluate) never
# imports it. Installing torchvision would drag in yet another torch build, so we install
# deepproblog's real runtime deps explicitly instead: torch (pinned, CPU), problog, pysdd
# (problog's SDD backend, used by ExactEngine), numpy (imported by deepproblog's engines) and
# Pillow (deepproblog.dataset imports PIL at module level). pyswip (ApproximateEngine only,
# needs SWI-Prolog) is left out: the peer uses ExactEngine, deepproblog just warns.
#
# Usage: bash benchmarks/peers/install_deepproblog.sh   [PYTHON=python3.11 to choose the interpreter]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${DEEPPROBLOG_VENV:-$root/benchmarks/out/peers/deepproblog-venv}"
constraints="$here/deepproblog-constraints.txt"
python="${PYTHON:-python3}"

if [ -x "$venv/bin/python" ] && "$venv/bin/python" -W ignore::UserWarning - <<'PY' 2>/dev/null
import importlib.metadata as md, sys
ok = md.version("deepproblog") == "2.1.0"
import deepproblog.engines, deepproblog.model, problog, pysdd, torch  # noqa: F401
sys.exit(0 if ok else 1)
PY
then
    echo "deepproblog 2.1.0 already installed in $venv"
    exit 0
fi

mkdir -p "$(dirname "$venv")"
"$python" -m venv "$venv"
pip=("$venv/bin/python" -m pip --disable-pip-version-check)
"${pip[@]}" install --quiet -c "$constraints" \
    "torch==2.13.0" "problog>=2.2,<3" "pysdd>=1.0" numpy Pillow
"${pip[@]}" install --quiet -c "$constraints" --no-deps "deepproblog==2.1.0"

"$venv/bin/python" -W ignore::UserWarning - <<'PY'
import importlib.metadata as md
import deepproblog.engines, deepproblog.model, deepproblog.train, deepproblog.evaluate  # noqa: F401
for name in ("deepproblog", "problog", "pysdd", "torch", "numpy"):
    print(f"{name}=={md.version(name)}")
PY
echo "deepproblog installed in $venv"
