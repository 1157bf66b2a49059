# mailferry tests - shared helpers of the transfer engine tests (sourced after
# tests/lib/tap.sh and tests/lab/lab.sh).
#
#   eng_lab [OPTION...]     a lab with a source (separator .) and an Exchange-like
#                           target (separator /, Sent Items, Deleted Items...; the
#                           options go to its `mflab start`), XDG_STATE_HOME inside
#                           it, the admin password files; on exit the background
#                           processes listed in ENG_BG are killed, then the lab
#                           is torn down
#   eng_csv FILE ROW...     a private CSV with Microsoft's header and the rows
#   eng_batch NAME CSV [OPTION...]   `mailferry batch create` with the lab's
#                           endpoints (source implicit TLS), the lab CA and the
#                           target master user; extra options are appended
#   eng_run VERB NAME [OPTION...]    runs `mailferry VERB NAME --json OPTION...`:
#                           stdout in $out, stderr in $err_out, exit status in $rc
#   jget TYPE KEY           (lab.sh) from the JSON Lines on stdin, KEY of the last object
#                           of that type ("" when absent)
#   eng_dump_src USER / eng_dump_tgt USER
#                           one line per message (folder, flags, INTERNALDATE,
#                           size, sha256), the source's special folders renamed
#                           the way the target names them, sorted
#   eng_same_mail SRC_USER TGT_USER DESC   target == source, message for message
#   eng_count_tgt_files USER FOLDER        messages stored in a target maildir folder
#   has_line TEXT LINE DESC  passes when TEXT has exactly that line
#   eng_wait_exit PID       waits for a background process (and forgets it in
#                           ENG_BG); its exit status in $rc
#
# Every helper uses $LAB, so nothing outside the lab directory is touched.
# shellcheck shell=bash disable=SC2034,SC2154
# (out, err_out and rc are results the tests read; LAB, MAILFERRY and the
# lab's variables come from the harness and lab.sh)

# The target's names for the source's special folders (the lab's target is
# laid out like Exchange Online).
ENG_MAP='Sent=Sent Items
Trash=Deleted Items
Junk=Junk Email'

eng_lab() {
	lab_setup
	trap eng_cleanup EXIT
	lab_start src --sep .
	lab_start tgt --sep / --layout exchange --autocreate "$@"
	export XDG_STATE_HOME="$LAB/state"
	printf %s "$TGT_MASTER_PASS" >"$LAB/tgt.pw"
	printf %s "$SRC_MASTER_PASS" >"$LAB/src.pw"
	chmod 600 "$LAB/tgt.pw" "$LAB/src.pw"
}

ENG_BG=()
eng_cleanup() {
	local p
	for p in "${ENG_BG[@]}"; do
		kill -9 "$p" 2>/dev/null
	done
	lab_teardown
}

eng_csv() {
	lab_csv "$@"
}

eng_batch() {
	local name=$1 csv=$2
	shift 2
	"$MAILFERRY" batch create "$name" --csv "$csv" --source "127.0.0.1:$SRC_TLSPORT" \
		--target "127.0.0.1:$TGT_TLSPORT" --ca-file "$LAB_CA" --target-admin mfadmin \
		--target-password-file "$LAB/tgt.pw" "$@" >"$LAB/batch-$name.out" 2>&1
}

eng_run() {
	local verb=$1 name=$2
	shift 2
	out=$("$MAILFERRY" "$verb" "$name" --json "$@" 2>"$LAB/stderr")
	rc=$?
	err_out=$(cat "$LAB/stderr")
}

# map_folders: renames column 1 of a dump from the source's special folder
# names to the target's.
map_folders() {
	awk -F'\t' -v OFS='\t' -v map="$ENG_MAP" '
		BEGIN { n = split(map, l, "\n"); for (i = 1; i <= n; i++) { split(l[i], kv, "="); m[kv[1]] = kv[2] } }
		{ if ($1 in m) $1 = m[$1]; print }'
}

eng_dump_src() {
	mflab dump src "$1" | map_folders | LC_ALL=C sort
}

eng_dump_tgt() {
	mflab dump tgt "$1" | LC_ALL=C sort
}

eng_same_mail() {
	lab_same_dumps "$3" "$(eng_dump_src "$1")" "$(eng_dump_tgt "$2")"
}

# Messages stored in a folder of the target's maildir (LAYOUT=fs), counted
# without logging in: cheap enough to poll while mailferry runs.
eng_count_tgt_files() {
	local d="$TGT_DIR/home/$1/Maildir/$2"
	[ "$2" = INBOX ] && d="$TGT_DIR/home/$1/Maildir/INBOX"
	find "$d/cur" "$d/new" -type f 2>/dev/null | wc -l
}

eng_wait_exit() {
	local p keep=()
	wait "$1" 2>/dev/null
	rc=$?
	for p in "${ENG_BG[@]}"; do # reaped: its pid may belong to someone else soon
		[ "$p" = "$1" ] || keep+=("$p")
	done
	ENG_BG=("${keep[@]}")
}

# Commands of one verb a user sent to an instance, from the rawlog.
eng_count() {
	mflab count "$1" --user "$2" "${@:3}"
}

has_line() {
	if printf '%s\n' "$1" | grep -qxF -- "$2"; then
		pass "$3"
	else
		fail "$3"
		diag "no line '$2' in:" "$1"
		return 1
	fi
}
