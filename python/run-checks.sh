#!/usr/bin/env bash
# The Python-side checks (python/tests): pyarrow and datasets read the Arrow stream and the export
# equal to dump's JSON, the llm_retriever_data package (numpy and torch), and a real
# `torchrun --nproc_per_node 2`. Run from anywhere; extra arguments go to pytest.
# Without the wheels to build the venv (python/setup-venv.sh), it prints "skipped: <why>" and exits 0.
set -uo pipefail
cd "$(dirname "$0")/.."
why=$(mktemp)
python=$(python/setup-venv.sh 2>"$why")
status=$?
if [ "$status" -eq 3 ]; then
  echo "python checks: 0 run, $(grep -m1 '^skipped: ' "$why")"
  rm -f "$why"
  exit 0
fi
if [ "$status" -ne 0 ]; then
  cat "$why" >&2
  rm -f "$why"
  exit "$status"
fi
grep -v "requires\|dependency resolver" "$why" >&2 || true
rm -f "$why"
echo "python checks with $python"
# -rs: every skipped check is listed with its reason in the summary.
exec "$python" -m pytest -q -rs -p no:cacheprovider python/tests "$@"
