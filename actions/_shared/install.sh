#!/usr/bin/env bash
# Install modelci from the action's own checkout into a cached virtual environment.
#
# The action's tag is the tool's version: pip installs the checkout the runner fetched for
# `uses: <owner>/modelci@<tag>`, never a package from an index. The venv lives under
# ACTION_CACHE_DIR (from setup.sh: tool cache / version / source hash) and is reused while
# its `modelci --version` answers with the expected version. A new venv is built beside the
# old one and published by atomically replacing the `active` symlink, so a half-built or
# concurrent install is never used.
#
# Env: ACTION_PYTHON, ACTION_CACHE_DIR, ACTION_VERSION, ACTION_EXTRAS (outputs of setup.sh:
# the package extras the step needs, so a verify job does not install MLflow).
# Output (GITHUB_OUTPUT): modelci (path of the executable).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dir="$ACTION_CACHE_DIR"
want="modelci, version $ACTION_VERSION"

healthy() {
  [[ -x "$1/bin/modelci" ]] && [[ "$("$1/bin/modelci" --version 2>/dev/null)" == "$want" ]]
}

if healthy "$dir/active"; then
  echo "modelci $ACTION_VERSION: reusing $dir/active"
else
  mkdir -p "$dir"
  env_dir="$(mktemp -d "$dir/env-XXXXXXXX")"
  echo "modelci $ACTION_VERSION: installing from ${root}[${ACTION_EXTRAS:-core}] into $env_dir"
  "$ACTION_PYTHON" -m venv "$env_dir"
  "$env_dir/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
    --progress-bar off -- "${root}[${ACTION_EXTRAS:-core}]"
  if ! healthy "$env_dir"; then
    echo "::error title=modelci install::modelci in $env_dir does not answer '$want'"
    exit 3
  fi
  ln -s "$(basename "$env_dir")" "$env_dir.link"
  "$ACTION_PYTHON" -c 'import os, sys; os.replace(sys.argv[1], sys.argv[2])' \
    "$env_dir.link" "$dir/active"
fi
echo "modelci=$dir/active/bin/modelci" >> "$GITHUB_OUTPUT"
