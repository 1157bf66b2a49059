# mailferry tests - the lab from a shell test (sourced after tests/lib/tap.sh).
#
#   lab_setup               private temp dir, teardown on every exit path
#   lab_start NAME [opts]   start a Dovecot instance; exports NAME_PORT, NAME_TLSPORT, ...
#   lab_user NAME USER PASS
#   mflab VERB ARGS...      any other lab verb on this lab (see tests/lab/mflab --help)
#   lab_csv FILE ROW...     a private migration CSV with these rows
#   lab_same_dumps DESC S T passes when two `mflab dump` texts are equal
#   jget TYPE KEY           KEY of the last JSON Lines object of TYPE on stdin

: "${MF_LAB:=$abs_top_srcdir/tests/lab/mflab}"

lab_require_dovecot() {
	if [ -z "${DOVECOT:-}" ] || [ ! -x "$DOVECOT" ]; then
		if [ -x /usr/sbin/dovecot ]; then
			DOVECOT=/usr/sbin/dovecot
		else
			skip_all "Dovecot is not installed (scripts/install-deps installs it)"
		fi
	fi
	command -v python3 >/dev/null 2>&1 || skip_all "python3 is not installed"
}

lab_teardown() {
	if [ -n "${LAB:-}" ] && [ -d "$LAB" ]; then
		"$MF_LAB" stop "$LAB" >/dev/null 2>&1
		# DNS servers a test started in the lab (mfdns start "$LAB" ...) go
		# too, whichever EXIT trap ended up in charge
		[ -d "$LAB/dns" ] && "$(dirname "$MF_LAB")/mfdns" stop "$LAB" >/dev/null 2>&1
		if [ -n "${MF_KEEP_LAB:-}" ]; then
			echo "# lab kept in $LAB" >&2
		else
			rm -rf "$LAB"
		fi
	fi
}

lab_setup() {
	lab_require_dovecot
	LAB=$(mktemp -d "${TMPDIR:-/tmp}/mflab.XXXXXX") || bail_out "mktemp failed"
	export LAB
	trap lab_teardown EXIT
	trap 'exit 130' INT TERM HUP
	"$MF_LAB" init "$LAB" >/dev/null || bail_out "mflab init failed"
}

mflab() {
	local verb=$1
	shift
	"$MF_LAB" "$verb" "$LAB" "$@"
}

lab_start() {
	local out
	out=$("$MF_LAB" start "$LAB" "$@") || bail_out "cannot start Dovecot instance $1"
	eval "$(printf '%s\n' "$out" | sed 's/^/export /')"
}

lab_user() {
	"$MF_LAB" user "$LAB" "$@" || bail_out "cannot add user $2 to $1"
}

# jget TYPE KEY < JSONL: the KEY of the last line whose "type" is TYPE ("-":
# a line without a type), as text (true/false, JSON for objects and lists).
jget() {
	python3 -c '
import json, sys
want, key = sys.argv[1], sys.argv[2]
val = ""
for line in sys.stdin:
    line = line.strip()
    if not line.startswith("{"):
        continue
    try:
        o = json.loads(line)
    except ValueError:
        continue
    if o.get("type") == want or (want == "-" and "type" not in o):
        v = o.get(key, "")
        val = json.dumps(v) if isinstance(v, (dict, list)) else ("" if v is None else str(v))
        if isinstance(v, bool):
            val = "true" if v else "false"
print(val)' "$1" "$2"
}

# lab_csv FILE ROW...: a migration CSV (Microsoft's three columns) with the
# rows given, private to us as a CSV of passwords must be.
lab_csv() {
	local f=$1
	shift
	{
		printf 'EmailAddress,UserName,Password\n'
		printf '%s\n' "$@"
	} >"$f"
	chmod 600 "$f"
}

# lab_same_dumps DESC SRC_DUMP TGT_DUMP: passes when the two `mflab dump`
# texts (sorted) are equal and not empty -- the target holds exactly the
# source's messages -- else fails with the counts and the first differences.
lab_same_dumps() {
	if [ -n "$2" ] && [ "$2" = "$3" ]; then
		pass "$1"
		return 0
	fi
	fail "$1"
	diag "source $(printf '%s\n' "$2" | grep -c .) messages, target $(printf '%s\n' "$3" | grep -c .):"
	diag "$(diff <(printf '%s\n' "$2") <(printf '%s\n' "$3") | head -20)"
	return 1
}
