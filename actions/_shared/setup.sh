#!/usr/bin/env bash
# First step of every modelci action: check the action's own inputs, then plan the install.
#
# The runner neither enforces `required:` on composite inputs nor types them, so each rule
# given as an argument is checked here and a bad value stops the action with exit 2 before
# anything is installed. Values come only from INPUT_<NAME> variables set in the step's
# `env:` (NAME upper-cased, '-' -> '_'); they are never evaluated as shell code.
#
#   setup.sh RULE...        rules:  required:NAME      not empty
#                                   step:NAME          a step with an action under actions/
#                                   choice:NAME=a,b,c  one of the listed values
#                                   bool:NAME          true or false
#                                   char:NAME          exactly one character
#                                   int:NAME[=LO..HI]  an integer (within LO..HI, either optional)
#                                   number:NAME        a number
#                                   json:NAME          a JSON object (checked by modelci's Python)
#                                   extras:LIST        the package extras to install
#                                   extras-of:NAME=S:L/S:L  the extras L of the step S named by NAME
# Other rules pass an empty value: empty means "not given", modelci.yaml or the default applies.
#
# Outputs (GITHUB_OUTPUT): python (interpreter), version (of modelci), extras, cache-dir,
# cache-key.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
status=0

# Workflow-command escaping, so a value cannot start a new ::command:: line.
escape() {
  local text="$1"
  text="${text//'%'/%25}"
  text="${text//$'\r'/%0D}"
  text="${text//$'\n'/%0A}"
  printf '%s' "$text"
}

fail() {
  echo "::error title=modelci action input::$(escape "$1")"
  status=2
}

value_of() {
  # tr, not ${1^^}: macOS runners may run bash 3.2
  local var
  var="INPUT_$(printf '%s' "$1" | tr 'a-z-' 'A-Z_')"
  printf '%s' "${!var-}"
}

extras=core
json_inputs=()
for rule in "$@"; do
  kind="${rule%%:*}"
  spec="${rule#*:}"
  name="${spec%%=*}"
  if [[ "$kind" == extras ]]; then
    extras="$spec"
    continue
  fi
  # the trailing dot keeps trailing newlines, which $(...) would strip
  value="$(value_of "$name"; printf .)"
  value="${value%.}"
  if [[ "$kind" == required ]]; then
    [[ -n "$value" ]] || fail "input '$name' is required"
    continue
  fi
  [[ -z "$value" ]] && continue
  case "$kind" in
    step)
      if [[ ! "$value" =~ ^[a-z][a-z0-9-]*$ || ! -f "$root/actions/$value/action.yml" ]]; then
        known="$(cd "$root/actions" && for d in */action.yml; do printf '%s, ' "${d%/action.yml}"; done)"
        fail "input '$name' must name a modelci step (${known%, }); got '$value'"
      fi
      ;;
    choice)
      options="${spec#*=}"
      if [[ ",$options," != *",$value,"* ]]; then
        fail "input '$name' must be one of ${options//,/, }; got '$value'"
      fi
      ;;
    bool)
      if [[ "$value" != true && "$value" != false ]]; then
        fail "input '$name' must be 'true' or 'false'; got '$value'"
      fi
      ;;
    char)
      if [[ ${#value} -ne 1 ]]; then
        fail "input '$name' must be exactly one character; got '$value'"
      fi
      ;;
    int)
      range="${spec#"$name"}"
      range="${range#=}"
      low="${range%%..*}"
      high="${range#*..}"
      if [[ ! "$value" =~ ^-?[0-9]{1,18}$ ]]; then
        fail "input '$name' must be a whole number; got '$value'"
      elif [[ -n "$low" && "$value" -lt "$low" ]] || [[ -n "$high" && "$value" -gt "$high" ]]; then
        if [[ -n "$low" && -n "$high" ]]; then bound="between $low and $high"
        elif [[ -n "$low" ]]; then bound="at least $low"
        else bound="at most $high"; fi
        fail "input '$name' must be $bound; got '$value'"
      fi
      ;;
    number)
      if [[ ! "$value" =~ ^-?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$ ]]; then
        fail "input '$name' must be a number; got '$value'"
      fi
      ;;
    json)
      json_inputs+=("$name")
      ;;
    extras-of)
      map="/${spec#*=}/"
      found="${map#*/"$value":}"
      [[ "$found" != "$map" ]] && extras="${found%%/*}"
      ;;
    *)
      echo "::error::setup.sh: unknown rule '$rule' in the action file" >&2
      exit 3
      ;;
  esac
done
[[ $status -eq 0 ]] || exit "$status"

python="$(value_of python)"
python="${python:-python3}"
if ! resolved="$(command -v -- "$python")"; then
  fail "input 'python': no interpreter '$python' on PATH; set up Python 3.11+ first (actions/setup-python)"
  exit 2
fi
if ! "$resolved" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  fail "input 'python': '$python' is not Python 3.11 or newer; set up Python 3.11+ first (actions/setup-python)"
  exit 2
fi

# JSON inputs are parsed by the interpreter the venv is built with: no shell evaluates them.
for name in "${json_inputs[@]}"; do
  value="$(value_of "$name")"
  if ! "$resolved" -c 'import json, sys; v = json.loads(sys.argv[1]); sys.exit(not isinstance(v, dict))' "$value" 2>/dev/null; then
    fail "input '$name' must be a JSON object, e.g. {\"max_iter\": 200}; got '$value'"
  fi
done
[[ $status -eq 0 ]] || exit "$status"

# Key: the tool's version and a hash of its source, plus the interpreter the venv is bound to.
plan="$("$resolved" "$root/actions/_shared/plan.py" "$root" "$extras")"
read -r version key <<< "$plan"
cache_root="${RUNNER_TOOL_CACHE:-${RUNNER_TEMP:-${TMPDIR:-/tmp}}}"
{
  echo "python=$resolved"
  echo "version=$version"
  echo "extras=$extras"
  echo "cache-dir=$cache_root/modelci/$version/$key"
  echo "cache-key=modelci-venv-${RUNNER_OS:-Linux}-${RUNNER_ARCH:-X64}-$version-$key"
} >> "$GITHUB_OUTPUT"
