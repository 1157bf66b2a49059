# mailferry tests - mfproxy and mffake from a shell test (sourced after
# tests/lib/tap.sh, and after tests/lab/lab.sh when the lab is used).
#
#   px_setup                       private temp dir $PX_DIR; on exit every tool
#                                  started here is stopped (then lab_teardown runs,
#                                  if the lab is used: call px_setup AFTER lab_setup)
#   proxy_start NAME ARG...        start mfproxy with ARG... (--upstream, --rule ...);
#                                  exports NAME_PORT, NAME_PID, NAME_LOG, NAME_COUNTS
#                                  (NAME uppercased: proxy_start p1 -> P1_PORT)
#   proxy_counts NAME              print a fresh counts file (SIGUSR1, then wait)
#   proxy_count NAME VERB          print one count, 0 if never seen:
#                                  proxy_count p1 "UID FETCH"; proxy_count p1 plain:LOGIN
#   proxy_stop NAME                SIGTERM, wait; returns mfproxy's exit status
#   px_all_clean                   TAP: every proxy stopped so far exited 0, no
#                                  sanitizer report (run it at the end of a test)
#   fake_start NAME SCRIPT ARG...  start mffake on SCRIPT with ARG... (--lab, --var ...);
#                                  exports NAME_PORT, NAME_PID, NAME_TRANSCRIPT
#   fake_wait NAME [SECONDS]       wait for mffake to finish its script (default 30 s;
#                                  then it is stopped); returns its exit status
#   px_alive PID                   whether a process still runs (and is not a zombie)
#
# Both tools also get --watch-pid $$: if the test dies, they exit by themselves.

: "${MFPROXY:=${abs_top_builddir:-.}/tests/proxy/mfproxy}"
: "${MFFAKE:=${abs_top_srcdir:-${srcdir:-.}}/tests/proxy/mffake}"

_px_pids=""

px_alive() {
	local state
	state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	case $state in Z*) return 1 ;; esac
	return 0
}

px_teardown() {
	local pid i
	for pid in $_px_pids; do
		px_alive "$pid" || continue
		kill -TERM "$pid" 2>/dev/null
		for i in $(seq 1 40); do
			px_alive "$pid" || break
			sleep 0.05
		done
		px_alive "$pid" && kill -KILL "$pid" 2>/dev/null
	done
	for pid in $_px_pids; do
		wait "$pid" 2>/dev/null
	done
	if [ -n "${PX_DIR:-}" ] && [ -d "$PX_DIR" ]; then
		if [ -n "${MF_KEEP_LAB:-}" ]; then
			echo "# proxy files kept in $PX_DIR" >&2
		else
			rm -rf "$PX_DIR"
		fi
	fi
	if declare -F lab_teardown >/dev/null; then
		lab_teardown
	fi
}

px_setup() {
	[ -x "$MFPROXY" ] || bail_out "mfproxy is not built ($MFPROXY): run make check"
	PX_DIR=$(mktemp -d "${TMPDIR:-/tmp}/mfpx.XXXXXX") || bail_out "mktemp failed"
	export PX_DIR
	trap px_teardown EXIT
	trap 'exit 130' INT TERM HUP
}

_px_upper() {
	printf '%s' "$1" | tr '[:lower:]' '[:upper:]'
}

# _px_wait_port PID FILE: waits until FILE holds a port (10 s at most).
_px_wait_port() {
	local i
	for i in $(seq 1 200); do
		[ -s "$2" ] && return 0
		px_alive "$1" || return 1
		sleep 0.05
	done
	return 1
}

proxy_start() {
	local name=$1 up
	shift
	up=$(_px_upper "$name")
	local pf="$PX_DIR/$name.port" log="$PX_DIR/$name.log" counts="$PX_DIR/$name.counts"
	rm -f "$pf"
	"$MFPROXY" --port-file "$pf" --log "$log" --counts "$counts" --watch-pid $$ \
		"$@" >"$PX_DIR/$name.out" 2>"$PX_DIR/$name.err" &
	local pid=$!
	_px_pids="$_px_pids $pid"
	_px_wait_port "$pid" "$pf" || bail_out "mfproxy $name did not start: $(cat "$PX_DIR/$name.err")"
	export "${up}_PORT=$(cat "$pf")" "${up}_PID=$pid" "${up}_LOG=$log" "${up}_COUNTS=$counts"
}

proxy_counts() {
	local up pid counts i
	up=$(_px_upper "$1")
	pid=$(eval echo "\$${up}_PID")
	counts=$(eval echo "\$${up}_COUNTS")
	rm -f "$counts"
	kill -USR1 "$pid" 2>/dev/null || return 1
	for i in $(seq 1 200); do
		if [ -s "$counts" ]; then
			cat "$counts"
			return 0
		fi
		sleep 0.05
	done
	return 1
}

proxy_count() {
	proxy_counts "$1" | awk -F'\t' -v v="$2" '$1 == v { n = $2 } END { print n + 0 }'
}

proxy_stop() {
	local up pid rc
	up=$(_px_upper "$1")
	pid=$(eval echo "\$${up}_PID")
	kill -TERM "$pid" 2>/dev/null
	wait "$pid"
	rc=$?
	if [ "$rc" -ne 0 ] || grep -qE 'Sanitizer|runtime error' "$PX_DIR/$1.err" 2>/dev/null; then
		_px_bad="$_px_bad $1:$rc"
		diag "mfproxy $1 exited $rc: $(head -c 2000 "$PX_DIR/$1.err")"
	fi
	return $rc
}

# px_all_clean: one TAP line saying every proxy stopped so far exited 0 with
# nothing from the sanitizers (leaks included) on stderr.
px_all_clean() {
	is "${_px_bad:-none}" none "every mfproxy exited 0, sanitizers silent"
}

fake_start() {
	local name=$1 script=$2 up
	shift 2
	up=$(_px_upper "$name")
	local pf="$PX_DIR/$name.port" tr="$PX_DIR/$name.transcript"
	rm -f "$pf" "$tr"
	"$MFFAKE" --port-file "$pf" --transcript "$tr" --watch-pid $$ "$@" "$script" \
		>"$PX_DIR/$name.out" 2>"$PX_DIR/$name.err" &
	local pid=$!
	_px_pids="$_px_pids $pid"
	_px_wait_port "$pid" "$pf" || bail_out "mffake $name did not start: $(cat "$PX_DIR/$name.err")"
	export "${up}_PORT=$(cat "$pf")" "${up}_PID=$pid" "${up}_TRANSCRIPT=$tr"
}

fake_wait() {
	local up pid secs=${2:-30} i
	up=$(_px_upper "$1")
	pid=$(eval echo "\$${up}_PID")
	for i in $(seq 1 $((secs * 20))); do
		px_alive "$pid" || break
		sleep 0.05
	done
	px_alive "$pid" && kill -TERM "$pid" 2>/dev/null
	wait "$pid"
}
