#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# Install every Debian 12 package that rosterd's build, tests and benchmarks
# need. Idempotent: when everything is already installed it only checks
# (dpkg-query) and returns, so test.sh and quickstart.sh can call it each run.
#
# Runs apt-get as root, or through sudo when not root. Package scripts are
# kept from starting services (nginx, sshd) while installing: rosterd only
# needs the binaries, and the tests and the benchmark start private instances
# on loopback ports of their own.
#
# Environment:
#   ROSTERD_SKIP_SETUP=1   do nothing (for machines managed another way)
set -euo pipefail

PACKAGES=(
	# build
	build-essential meson ninja-build pkg-config clang-format
	# libraries (headers + pkg-config files)
	libevent-dev libjansson-dev libsqlite3-dev libsodium-dev libssl-dev
	libcmocka-dev libcurl4-openssl-dev libgpgme-dev libfyaml-dev
	# tests and tools
	sqlite3 python3 python3-yaml gnupg openssh-server openssh-client openssl
	ca-certificates curl valgrind tzdata libx12-parser-perl
	# benchmark
	wrk nginx-light util-linux procps
)

log() { printf 'setup: %s\n' "$*" >&2; }

if [[ "${ROSTERD_SKIP_SETUP:-}" == 1 ]]; then
	log "ROSTERD_SKIP_SETUP=1, not checking packages"
	exit 0
fi

if [[ ! -r /etc/debian_version ]] || ! command -v dpkg-query >/dev/null 2>&1; then
	log "this script installs Debian packages; this does not look like Debian."
	log "install the equivalents of: ${PACKAGES[*]}"
	exit 1
fi
if [[ -r /etc/os-release ]]; then
	# shellcheck disable=SC1091
	version_id=$(. /etc/os-release && printf '%s' "${VERSION_ID:-}")
	if [[ "$version_id" != 12 ]]; then
		log "warning: written for Debian 12, found VERSION_ID=${version_id:-unknown}; trying anyway"
	fi
fi

# A package counts as installed when dpkg says "install ok installed".
missing=()
for pkg in "${PACKAGES[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	if [[ "$status" != "install ok installed" ]]; then
		missing+=("$pkg")
	fi
done

if ((${#missing[@]} == 0)); then
	log "all ${#PACKAGES[@]} packages already installed"
	exit 0
fi

log "missing packages: ${missing[*]}"

SUDO=()
if [[ "$(id -u)" != 0 ]]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO=(sudo)
		log "not root: using sudo"
	else
		log "not root and sudo is not installed; run as root:"
		log "  apt-get update && apt-get install -y ${missing[*]}"
		exit 1
	fi
fi

# Keep maintainer scripts from starting nginx and sshd (invoke-rc.d and
# deb-systemd-invoke both honour policy-rc.d). Only install our own
# policy-rc.d when none exists, and always remove it again.
POLICY=/usr/sbin/policy-rc.d
policy_added=0
remove_policy() {
	if ((policy_added)); then
		"${SUDO[@]}" rm -f "$POLICY"
	fi
}
trap remove_policy EXIT
if [[ ! -e "$POLICY" ]]; then
	printf '#!/bin/sh\n# added by rosterd scripts/setup.sh while installing\nexit 101\n' |
		"${SUDO[@]}" tee "$POLICY" >/dev/null
	"${SUDO[@]}" chmod 755 "$POLICY"
	policy_added=1
fi

export DEBIAN_FRONTEND=noninteractive
APT_OPTS=(-y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

log "apt-get update"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q update
log "apt-get install ${missing[*]}"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
	apt-get install "${APT_OPTS[@]}" --no-install-recommends "${missing[@]}"

# Check again: apt-get can succeed while leaving a package half-configured.
still=()
for pkg in "${missing[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	[[ "$status" == "install ok installed" ]] || still+=("$pkg")
done
if ((${#still[@]})); then
	log "still not installed after apt-get: ${still[*]}"
	exit 1
fi
log "installed ${#missing[@]} packages"
