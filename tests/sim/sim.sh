# mailferry tests - the Microsoft 365 simulator from a shell test.
# Source after tests/lib/tap.sh and tests/lab/lab.sh.
#
#   sim_setup               a private lab directory (CA and certificates) without Dovecot;
#                           use lab_setup instead when the test also needs Dovecot
#   sim_start TENANT_JSON   start m365sim with the lab's certificate; exports M365SIM_PORT,
#                           M365SIM_URL, M365SIM_GRAPH, M365SIM_INTROSPECT, M365SIM_LOG,
#                           M365SIM_CA; stopped on every exit path
#   sim VERB ARGS...        any other m365sim verb on this simulator (count, times, env)
#   probe ARGS...           tests/sim/m365probe with --authority, --ca and --graph set;
#                           sanitizer reports go to files in the lab, not into its output
#   probe_sanitizer_clean   a TAP line: no sanitizer report from any probe run

: "${M365SIM:=$abs_top_srcdir/tests/sim/m365sim}"
: "${M365PROBE:=$abs_top_builddir/tests/sim/m365probe}"

sim_teardown() {
	if [ -n "${SIM_DIR:-}" ] && [ -d "$SIM_DIR" ]; then
		"$M365SIM" stop "$SIM_DIR" >/dev/null 2>&1
	fi
}

_sim_all_teardown() {
	sim_teardown
	if command -v lab_teardown >/dev/null 2>&1; then
		lab_teardown
	fi
}

sim_setup() {
	command -v openssl >/dev/null 2>&1 || skip_all "openssl is not installed"
	[ -x /usr/bin/python3 ] || skip_all "python3 is not installed"
	LAB=$(mktemp -d "${TMPDIR:-/tmp}/mflab.XXXXXX") || bail_out "mktemp failed"
	export LAB
	trap _sim_all_teardown EXIT
	trap 'exit 130' INT TERM HUP
	"$MF_LAB" init "$LAB" >/dev/null || bail_out "mflab init failed"
}

sim_start() {
	local out
	SIM_DIR=$LAB/m365sim
	out=$("$M365SIM" start "$SIM_DIR" --tenant "$1" --lab "$LAB") ||
		bail_out "cannot start the Microsoft 365 simulator"
	eval "$(printf '%s\n' "$out" | sed 's/^/export /')"
	trap _sim_all_teardown EXIT
}

sim() {
	local verb=$1
	shift
	"$M365SIM" "$verb" "$SIM_DIR" "$@"
}

probe() {
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$LAB/sanitizer" \
	UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$LAB/sanitizer" \
		"$M365PROBE" --authority "$M365SIM_URL" --graph "$M365SIM_GRAPH" --ca "$M365SIM_CA" "$@"
}

probe_sanitizer_clean() {
	local reports
	reports=$(cat "$LAB"/sanitizer.* 2>/dev/null)
	is "$reports" "" "m365probe ran without a sanitizer report (leaks, overflows, UB)"
}
