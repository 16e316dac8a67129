# Use an installed modelci of the wanted version, or install one into a venv in this job's
# build folder (its own, even when a shell runner runs jobs side by side), removed when the
# job's script ends however it ends. pip's cache lives in the project folder, where the
# template's `cache:` keeps it between jobs.
want="modelci, version ${MODELCI_VERSION}"
if [ "$(modelci --version 2>/dev/null)" = "$want" ]; then
  echo "modelci ${MODELCI_VERSION}: using $(command -v modelci)"
else
  venv="$PWD/.modelci-venv"
  trap 'rm -rf "$venv"' EXIT
  python3 -m venv --without-pip "$venv"
  # the step's extras: on a URL (the repository at a commit), a source folder or a wheel;
  # a requirement (modelci[data]==X.Y.Z from a package index) is taken as written
  case "${MODELCI_PIP_SPEC}" in
    "") spec="modelci[${MODELCI_EXTRAS}]==${MODELCI_VERSION}" ;;
    git+*|http://*|https://*|file://*) spec="modelci[${MODELCI_EXTRAS}] @ ${MODELCI_PIP_SPEC}" ;;
    *)
      if [ -e "${MODELCI_PIP_SPEC}" ]; then
        spec="${MODELCI_PIP_SPEC}[${MODELCI_EXTRAS}]"
      else
        spec="${MODELCI_PIP_SPEC}"
      fi
      ;;
  esac
  python3 -m pip --python "$venv/bin/python" install --quiet --disable-pip-version-check \
    --no-input -- "$spec"
  export PATH="$venv/bin:$PATH"
  if [ "$(modelci --version)" != "$want" ]; then
    echo "modelci-source installed '$(modelci --version)', not '$want'" >&2
    exit 3
  fi
fi
