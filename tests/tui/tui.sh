# mailferry tests - drive a curses program in tmux (sourced after tests/lib/tap.sh).
#
# Every test gets its own tmux server on a private socket in a temp dir
# (tmux -S), started with no configuration file, so a user's tmux is never
# touched; the server and everything the test started are killed on exit.
#
#   tui_init                          temp dir + private server; skips without tmux
#   tui_start W H [VAR=val...] -- prog args...
#                                     runs prog in a WxH window; VAR=val set its
#                                     environment (TERM, NO_COLOR, LANG...);
#                                     TUI_NOHUP=1 makes it ignore SIGHUP (nohup)
#   tui_send KEY...                   tmux key names: Tab BTab Enter Escape F1 C-l Up...
#   tui_type TEXT                     literal text
#   tui_wait REGEX [SECONDS]          until the screen matches (ERE); 1 on timeout
#   tui_wait_gone REGEX [SECONDS]     until the screen no longer matches
#   tui_capture                       the screen as text (capture-pane -p)
#   tui_capture_e                     with attributes and colours (-e)
#   tui_cursor                        "x,y" of the hardware cursor
#   tui_resize W H
#   tui_pid                           pid of prog (written before exec)
#   tui_cpu_ticks PID                 utime+stime from /proc/PID/stat (clock ticks)
#   tui_wait_exit [SECONDS]           prints prog's exit status once it ended
#   tui_stty                          `stty -a` taken in the pane after prog ended
#   tui_pane_tty                      the pane's tty device
#   tui_kill_pane                     closes the pane (like a dropped SSH link)
#   tui_stop                          kills the session (tui_init's trap does the rest)

TMUX_BIN=${TMUX_BIN:-$(command -v tmux)}

tui_init() {
	[ -n "$TMUX_BIN" ] && [ -x "$TMUX_BIN" ] || skip_all "tmux not installed (Debian: apt-get install tmux)"
	TUI_DIR=$(mktemp -d "${TMPDIR:-/tmp}/mf-tui.XXXXXX") || bail_out "mktemp failed"
	TUI_SOCK=$TUI_DIR/tmux.sock
	TUI_RUN=0
	trap tui_cleanup EXIT
	# tmux refuses to start without a UTF-8 capable locale for its own output
	# only in rare setups; give it a known one
	export LC_ALL= LANG=C.UTF-8
}

tui_tmux() {
	"$TMUX_BIN" -S "$TUI_SOCK" -f /dev/null "$@"
}

tui_cleanup() {
	local pid
	for f in "$TUI_DIR"/run*/pid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f" 2>/dev/null)
		[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	done
	tui_tmux kill-server >/dev/null 2>&1
	if [ -n "${MF_KEEP_TUI:-}" ]; then
		echo "# kept $TUI_DIR" >&2
	else
		rm -rf "$TUI_DIR"
	fi
}

# tui_start W H [VAR=val...] -- prog args...
tui_start() {
	local w=$1 h=$2 envs=() trap_hup= i
	shift 2
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do
		envs+=("$1")
		shift
	done
	[ "${1:-}" = "--" ] && shift
	[ -n "${TUI_NOHUP:-}" ] && trap_hup="trap '' HUP; "
	local old=${TUI_SESSION:-}
	TUI_RUN=$((TUI_RUN + 1))
	TUI_SESSION=t$TUI_RUN
	TUI_CUR=$TUI_DIR/run$TUI_RUN
	mkdir -p "$TUI_CUR"
	# The inner shell records its pid and then becomes the program (exec), so
	# the pid is the program's; stderr stays on the terminal, as for a user.
	# After the program: its exit status and the terminal modes it left.
	{
		printf 'cd %q || exit 1\n' "$TUI_CUR"
		# Ctrl-C reaches the whole process group: the wrapper must survive it
		# to record the status (a trap, unlike an ignore, is not inherited)
		printf 'trap : INT\n'
		printf 'sh -c %q sh' "${trap_hup}echo \$\$ > pid; exec env \"\$@\""
		printf ' %q' "${envs[@]}" "$@"
		printf '\n'
		printf 'echo $? > status.tmp; mv status.tmp status\n'
		printf 'stty -a > stty.tmp 2>&1; mv stty.tmp stty\n'
		printf 'exec sleep 3600\n'
	} > "$TUI_CUR/wrap.sh"
	# a new session first, then the old one goes: the server never runs out
	# of sessions between two runs (it would exit under our feet)
	tui_tmux new-session -d -s "$TUI_SESSION" -x "$w" -y "$h" "sh $TUI_CUR/wrap.sh" || return 1
	[ -n "$old" ] && tui_tmux kill-session -t "$old" >/dev/null 2>&1
	for i in $(seq 1 200); do
		[ -s "$TUI_CUR/pid" ] && return 0
		sleep 0.05
	done
	diag "the program did not start"
	return 1
}

tui_send() {
	tui_tmux send-keys -t "$TUI_SESSION" "$@"
}

tui_type() {
	tui_tmux send-keys -t "$TUI_SESSION" -l "$1"
}

tui_capture() {
	tui_tmux capture-pane -t "$TUI_SESSION" -p
}

tui_capture_e() {
	tui_tmux capture-pane -t "$TUI_SESSION" -p -e
}

tui_cursor() {
	tui_tmux display-message -t "$TUI_SESSION" -p '#{cursor_x},#{cursor_y}'
}

tui_pane_tty() {
	tui_tmux display-message -t "$TUI_SESSION" -p '#{pane_tty}'
}

tui_resize() {
	tui_tmux resize-window -t "$TUI_SESSION" -x "$1" -y "$2"
}

tui_pid() {
	cat "$TUI_CUR/pid" 2>/dev/null
}

# tui_wait REGEX [SECONDS]
tui_wait() {
	local re=$1 t=${2:-10} i
	for i in $(seq 1 $((t * 20))); do
		tui_capture 2>/dev/null | grep -Eq -- "$re" && return 0
		sleep 0.05
	done
	diag "timed out after ${t}s waiting for: $re" "screen was:" "$(tui_capture 2>/dev/null)"
	return 1
}

tui_wait_gone() {
	local re=$1 t=${2:-10} i
	for i in $(seq 1 $((t * 20))); do
		tui_capture 2>/dev/null | grep -Eq -- "$re" || return 0
		sleep 0.05
	done
	diag "timed out after ${t}s waiting for this to go away: $re"
	return 1
}

tui_cpu_ticks() {
	# fields 14 and 15 (utime, stime); the command name may hold spaces: cut after ')'
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	set -- $stat
	echo $((${12} + ${13}))
}

tui_wait_exit() {
	local t=${1:-10} i
	for i in $(seq 1 $((t * 20))); do
		if [ -s "$TUI_CUR/status" ]; then
			cat "$TUI_CUR/status"
			return 0
		fi
		sleep 0.05
	done
	return 1
}

tui_stty() {
	local i
	for i in $(seq 1 100); do
		[ -s "$TUI_CUR/stty" ] && break
		sleep 0.05
	done
	cat "$TUI_CUR/stty" 2>/dev/null
}

tui_kill_pane() {
	tui_tmux kill-session -t "$TUI_SESSION"
}

tui_stop() {
	tui_tmux kill-session -t "$TUI_SESSION" >/dev/null 2>&1
}

# Every line of the capture fits in W columns (display width, not bytes).
tui_max_width() {
	tui_capture | "${PYTHON3:-/usr/bin/python3}" -c '
import sys, unicodedata
m = 0
for line in sys.stdin.read().split("\n"):
    w = sum(2 if unicodedata.east_asian_width(c) in "WF" else 0 if unicodedata.combining(c) else 1 for c in line)
    m = max(m, w)
print(m)'
}

# The gallery program built next to the tests.
GALLERY=${abs_top_builddir:-$PWD}/tests/tui/gallery

# The capture without the gallery's frame counter (which changes every frame).
tui_capture_stable() {
	tui_capture | sed -E 's/frames: [0-9]+//'
}

# The number of frames the gallery has drawn, as shown on its home screen.
tui_frames() {
	tui_capture | sed -nE 's/.*frames: ([0-9]+).*/\1/p' | head -1
}

# Records every byte the program sends to the terminal from now on (pipe-pane).
tui_record() {
	: > "$TUI_CUR/output"
	tui_tmux pipe-pane -t "$TUI_SESSION" -o "cat >> $TUI_CUR/output"
}
tui_recorded() {
	cat "$TUI_CUR/output" 2>/dev/null
}
tui_recorded_bytes() {
	wc -c < "$TUI_CUR/output" 2>/dev/null | tr -d ' '
}

# Colour SGR codes in a stream (foreground/background 30-38, 40-48, 90-97,
# 100-107); default-colour resets (39, 49) and attributes do not count.
# Prints the offending sequences, one per line.
tui_colour_codes() {
	"${PYTHON3:-/usr/bin/python3}" -c '
import re, sys
data = sys.stdin.buffer.read().decode("utf-8", "replace")
for m in re.finditer(r"\x1b\[([0-9;:]*)m", data):
    ps = [p for p in re.split("[;:]", m.group(1)) if p != ""]
    i = 0
    while i < len(ps):
        n = int(ps[i])
        if n in (38, 48):
            print(repr(m.group(0))); break
        if 30 <= n <= 37 or 40 <= n <= 47 or 90 <= n <= 97 or 100 <= n <= 107:
            print(repr(m.group(0))); break
        i += 1
' 2>/dev/null
}

# How many bytes of stdin are not ASCII (0x80 and above).
tui_non_ascii_count() {
	LC_ALL=C tr -d '\000-\177' | wc -c | tr -d ' '
}
