#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# The one test command: install what is needed (scripts/setup.sh), build and
# run every test (cmocka unit tests and the end-to-end suite) in build/, then
# again in an ASan+UBSan build in build-asan/. Exits non-zero when any step
# fails; both builds are attempted so one run shows every failure.
#
# Environment:
#   ROSTERD_SKIP_SETUP=1   do not check/install packages
#   ROSTERD_SKIP_ASAN=1    only the normal build (quicker local loop)
#   MESON_TEST_ARGS        extra arguments for `meson test`, e.g. "--suite unit"
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)

# Meson wants a UTF-8 locale; C.UTF-8 is built into Debian 12's glibc.
export LC_ALL=C.UTF-8

say() { printf '\n==> %s\n' "$*"; }

failed=()
# Run a named step; record a failure instead of stopping, so the sanitizer
# build still runs after a failing normal build.
step() {
	local name=$1
	shift
	say "$name: $*"
	if "$@"; then
		return 0
	fi
	failed+=("$name")
	printf '==> FAILED: %s\n' "$name" >&2
	return 1
}

# meson setup, or reconfigure an existing build dir with the same options.
configure() {
	local dir=$1
	shift
	if [[ -f "$dir/meson-private/coredata.dat" ]]; then
		# A build dir from another Meson version cannot be reconfigured;
		# start it afresh then.
		meson setup --reconfigure "$dir" "$@" || meson setup --wipe "$dir" "$@"
	else
		meson setup "$dir" "$@"
	fi
}

read -r -a test_args <<<"${MESON_TEST_ARGS:-}"

say "setup: scripts/setup.sh"
"$ROOT/scripts/setup.sh"

# --- normal build (debugoptimized, -Werror) ---------------------------------
if step "configure build" configure build &&
	step "compile build" ninja -C build; then
	step "test build" meson test -C build --print-errorlogs "${test_args[@]}" || true
fi

# --- sanitizer build --------------------------------------------------------
if [[ "${ROSTERD_SKIP_ASAN:-}" == 1 ]]; then
	say "ROSTERD_SKIP_ASAN=1: skipping the ASan+UBSan build"
else
	# Leaks fail the test; UBSan findings are fatal, with a stack trace.
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	if step "configure build-asan" configure build-asan \
		-Db_sanitize=address,undefined -Db_lundef=false &&
		step "compile build-asan" ninja -C build-asan; then
		step "test build-asan" meson test -C build-asan --print-errorlogs \
			"${test_args[@]}" || true
	fi
fi

# --- formatting (advisory) --------------------------------------------------
# Not a failure: reported so drift from .clang-format is seen early.
if command -v clang-format >/dev/null 2>&1; then
	unformatted=()
	while IFS= read -r -d '' f; do
		if [[ -n "$(clang-format --dry-run "$f" 2>&1)" ]]; then
			unformatted+=("${f#./}")
		fi
	done < <(find ./src ./tests -name '*.[ch]' -print0 2>/dev/null)
	if ((${#unformatted[@]})); then
		say "note: ${#unformatted[@]} file(s) differ from .clang-format (run clang-format -i):"
		printf '    %s\n' "${unformatted[@]}"
	fi
fi

echo
if ((${#failed[@]})); then
	printf '==> test.sh: FAILED steps: %s\n' "${failed[*]}" >&2
	exit 1
fi
echo "==> test.sh: all builds and tests passed"
