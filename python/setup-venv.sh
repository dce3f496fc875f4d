#!/usr/bin/env bash
# Builds, once, the Python environment that the Python-side checks (python/run-checks.sh) and
# `npm run bench:bridge` use: a venv from the wheels on this machine's disk (`--no-index`: no
# package index is reachable from the machines this project is built on), kept in a cache folder
# so that later runs reuse it. Prints the venv's python on stdout.
#
#   python/setup-venv.sh          # numpy, pyarrow, datasets, pytest, and torch when its wheels are there
#
# Exit 0: ready (stdout: the python). Exit 3: it cannot be built here; stderr says why, in one line
# starting "skipped: ". Anything else is a real failure.
#
# Environment: LLM_RETRIEVER_DATA_VENV (the venv folder; default: a folder per requirement set in
# ${XDG_CACHE_HOME:-~/.cache}/llm-retriever-data), WHEEL_DIRS (colon-separated wheel folders; default:
# every folder on this disk with "pypi" in its path that holds wheels), PYTHON (default: python3).
set -euo pipefail

python=${PYTHON:-python3}
# What the checks need. torch is installed without its dependency resolution (it asks for CUDA
# packages by names the wheel folders do not index), then its CPU-side dependencies and the CUDA
# libraries its shared objects link against (it loads them even on a machine without a GPU).
base_requirements=(numpy pyarrow datasets pytest)
torch_requirements=(torch)
torch_dependencies=(filelock typing_extensions 'setuptools>=77' sympy networkx jinja2 fsspec)
cuda_libraries=(nvidia_cublas nvidia_cuda_runtime nvidia_cufft nvidia_cufile nvidia_cuda_cupti nvidia_curand
  nvidia_cusolver nvidia_cusparse nvidia_nvjitlink nvidia_cuda_nvrtc nvidia_nvtx nvidia_cudnn_cu13
  nvidia_cusparselt_cu13 nvidia_nccl_cu13 nvidia_nvshmem_cu13)

skip() { echo "skipped: $*" >&2; exit 3; }

command -v "$python" >/dev/null 2>&1 || skip "no $python on this machine"
"$python" -c 'import venv, ensurepip' 2>/dev/null || skip "$python cannot make venvs (the venv/ensurepip modules are missing)"

# One folder per requirement set and Python version, so that a change here builds a new one.
key=$( { "$python" -c 'import sys; print(sys.version)'; printf '%s\n' "${base_requirements[@]}" "${torch_requirements[@]}" "${torch_dependencies[@]}" "${cuda_libraries[@]}"; } | sha256sum | cut -c1-12)
venv=${LLM_RETRIEVER_DATA_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/llm-retriever-data/python-venv-$key}
if [ -f "$venv/.complete" ]; then echo "$venv/bin/python"; exit 0; fi

mkdir -p "$(dirname "$venv")"
# Several checkouts may build at once (CI runs, engineers): one builds, the others wait for it.
exec 9>"$venv.lock"
flock 9
if [ -f "$venv/.complete" ]; then echo "$venv/bin/python"; exit 0; fi

if [ -n "${WHEEL_DIRS:-}" ]; then
  IFS=: read -r -a dirs <<<"$WHEEL_DIRS"
else
  mapfile -t dirs < <(find / -xdev -name '*.whl' -path '*pypi*' -printf '%h\n' 2>/dev/null | sort -u)
fi
[ "${#dirs[@]}" -gt 0 ] || skip "no wheel folders on this machine (set WHEEL_DIRS, or install numpy, pyarrow, datasets, pytest and torch yourself)"
links=(--no-index)
for d in "${dirs[@]}"; do links+=(--find-links "$d"); done
has_wheel() { for d in "${dirs[@]}"; do compgen -G "$d/$1-*.whl" >/dev/null && return 0; done; return 1; }
for r in "${base_requirements[@]}"; do has_wheel "$r" || skip "no $r wheel in ${dirs[*]}"; done

echo "building the Python environment in $venv (once; reused by later runs)" >&2
rm -rf "$venv"
"$python" -m venv "$venv"
pip=("$venv/bin/python" -m pip install -q --disable-pip-version-check "${links[@]}")
"${pip[@]}" "${base_requirements[@]}" >&2 || skip "pip could not install ${base_requirements[*]} from ${dirs[*]}"
if has_wheel torch; then
  "${pip[@]}" --no-deps "${torch_requirements[@]}" >&2
  "${pip[@]}" "${torch_dependencies[@]}" >&2
  present=()
  for lib in "${cuda_libraries[@]}"; do has_wheel "$lib" && present+=("$lib"); done
  [ "${#present[@]}" -eq 0 ] || "${pip[@]}" --no-deps "${present[@]}" >&2
  "$venv/bin/python" -c 'import torch, torch.distributed' >&2 || echo "warning: torch is installed but does not import; the torch checks will say skipped" >&2
else
  echo "warning: no torch wheel in ${dirs[*]}; the torch checks will say skipped" >&2
fi
touch "$venv/.complete"
echo "$venv/bin/python"
