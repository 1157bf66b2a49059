# mailferry tests - the wizard against real Dovecot servers (sourced after
# tests/lib/tap.sh, tests/lab/lab.sh and tests/tui/tui.sh).
#
#   wiz_setup                 tmux + a lab with a source (src) and a target (tgt)
#                             and a private XDG_STATE_HOME; everything goes on exit
#   wiz_user USER PASS        the user on both servers (target password: t-PASS)
#   wiz_batch NAME CSV [opts] `mailferry batch create` towards the two servers; the
#                             target logs in as the lab's master user
#   wiz_start W H [VAR=v..] [-- args]   the wizard (mailferry args) in a WxH window
#   wiz_state NAME MAILBOX    the mailbox's state in the ledger (mailferry status)
#   wiz_same USER             the target holds exactly the source's messages
#   wiz_widest                the widest line of the screen, in columns

WIZ_MF=${MAILFERRY:-${abs_top_builddir:-$PWD}/mailferry}

# The steps in Microsoft's order and words.
WIZ_TITLES=(
	""
	"Add users and assign licenses"
	"Prepare the IMAP source and verify domains"
	"Communicate changes to users"
	"Admin credentials or user passwords"
	"Create the list of mailboxes"
	"Connect to the source (migration endpoint)"
	"Migrate mailboxes and verify"
	"Optimize (optional)"
	"Change the MX record"
	"Verify routing"
	"Inform users"
)

wiz_setup() {
	tui_init
	lab_setup
	trap 'tui_cleanup; lab_teardown' EXIT
	lab_start src --sep . >/dev/null
	lab_start tgt --sep / >/dev/null
	export XDG_STATE_HOME=$LAB/state
	printf '%s' "$TGT_MASTER_PASS" >"$LAB/master.pw"
	chmod 600 "$LAB/master.pw"
}

wiz_user() {
	lab_user src "$1" "$2"
	lab_user tgt "$1" "t-$2"
}

wiz_batch() {
	local name=$1 csv=$2
	shift 2
	"$WIZ_MF" batch create "$name" --csv "$csv" --source "127.0.0.1:$SRC_TLSPORT" \
		--target "127.0.0.1:$TGT_TLSPORT" --ca-file "$LAB_CA" \
		--target-admin "$TGT_MASTER" --target-password-file "$LAB/master.pw" "$@" >/dev/null
}

wiz_start() {
	local w=$1 h=$2 envs=()
	shift 2
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do
		envs+=("$1")
		shift
	done
	[ "${1:-}" = "--" ] && shift
	tui_start "$w" "$h" XDG_STATE_HOME="$XDG_STATE_HOME" "${envs[@]}" -- "$WIZ_MF" "$@"
}

wiz_state() {
	"$WIZ_MF" status "$1" --json 2>/dev/null | "${PYTHON3:-/usr/bin/python3}" -c '
import json, sys
want = sys.argv[1]
for line in sys.stdin:
    try:
        o = json.loads(line)
    except ValueError:
        continue
    if o.get("mailbox") == want:
        print(o.get("state", ""))' "$2"
}

wiz_same() {
	mflab dump src "$1" >"$LAB/$1.src"
	mflab dump tgt "$1" >"$LAB/$1.tgt"
	[ -s "$LAB/$1.src" ] && cmp -s "$LAB/$1.src" "$LAB/$1.tgt"
}

wiz_widest() {
	tui_max_width
}

# Opens step N from the checklist (the list is focused there).
wiz_open_step() {
	tui_send Home
	local i
	for ((i = 1; i < $1; i++)); do
		tui_send Down
	done
	tui_send Enter
}

# stty -a taken after the program ended shows a cooked terminal
wiz_sane_tty() {
	local s
	s=$(tui_stty | tr ' ;' '\n\n')
	printf '%s\n' "$s" | grep -qx echo && printf '%s\n' "$s" | grep -qx icanon
}
