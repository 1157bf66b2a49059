# mailferry tests - a tiny TAP producer for shell tests (sourced).
#
#   ok "what the user would care about" command args...   passes when it exits 0
#   is "$got" "$expected" "description"
#   like "$got" 'regex' "description"
#   diag "text"            a comment line
#   skip_all "reason"      the whole test is skipped (exit 0)
#   done_testing           prints the plan; exit status = number of failures (max 1)

_tap_n=0
_tap_failed=0

diag() {
	printf '# %s\n' "$@" | sed '2,$s/^/# /'
}

_tap_result() {
	_tap_n=$((_tap_n + 1))
	if [ "$1" -eq 0 ]; then
		printf 'ok %d - %s\n' "$_tap_n" "$2"
	else
		printf 'not ok %d - %s\n' "$_tap_n" "$2"
		_tap_failed=$((_tap_failed + 1))
	fi
	return "$1"
}

ok() {
	local desc=$1
	shift
	"$@" >/dev/null 2>&1
	_tap_result $? "$desc"
}

pass() { _tap_result 0 "$1"; }
fail() { _tap_result 1 "$1"; }

is() {
	if [ "$1" = "$2" ]; then
		_tap_result 0 "$3"
	else
		_tap_result 1 "$3"
		diag "got:      '$1'" "expected: '$2'"
		return 1
	fi
}

like() {
	if printf '%s' "$1" | grep -Eq -- "$2"; then
		_tap_result 0 "$3"
	else
		_tap_result 1 "$3"
		diag "got:      '$(printf '%s' "$1" | head -c 2000)'" "expected to match: $2"
		return 1
	fi
}

unlike() {
	if printf '%s' "$1" | grep -Eq -- "$2"; then
		_tap_result 1 "$3"
		diag "unexpectedly matched: $2"
		return 1
	fi
	_tap_result 0 "$3"
}

skip_all() {
	printf '1..0 # SKIP %s\n' "$1"
	exit 0
}

bail_out() {
	printf 'Bail out! %s\n' "$1"
	exit 1
}

done_testing() {
	printf '1..%d\n' "$_tap_n"
	[ "$_tap_failed" -eq 0 ]
}
