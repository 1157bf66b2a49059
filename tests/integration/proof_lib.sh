# mailferry tests - helpers of the proof suites (tests/integration/proof_*.test),
# sourced after tests/lib/tap.sh and tests/lab/lab.sh.
#
#   pf_lab                  a lab with a source and a target Dovecot (both with
#                           the lab's defaults: same folder names on both sides),
#                           XDG_STATE_HOME inside it, the target master password
#                           in $LAB/tgt.pw (0600)
#   pf_csv FILE ROW...      a private CSV with Microsoft's header and the rows
#   pf_batch NAME CSV [OPTION...]   `mailferry batch create` with the lab's
#                           endpoints (implicit TLS, the lab CA) and the target
#                           master user; output in $LAB/batch-NAME.out, status in $rc
#   pf_run VERB NAME [OPTION...]    `mailferry VERB NAME --json OPTION...`:
#                           stdout in $out, stderr in $err_out, exit status in $rc
#   jget TYPE KEY           (lab.sh) KEY of the last JSON Lines object of TYPE
#   pf_dump_src USER / pf_dump_tgt USER   one line per message (folder, flags,
#                           INTERNALDATE, size, sha256), sorted
#   pf_same SRC_USER TGT_USER DESC        passes when target == source exactly
#                           (a lost message or a duplicate shows as a diff)
#   pf_wait_exit PID        waits for a background process; its status in $rc
#   pf_wait_for SECONDS CMD...      polls CMD every 50 ms; 1 on timeout
#   pf_long                 true when MF_LONG_TESTS is set (long loops)
#   pf_sanitizer_report FILE        prints the first sanitizer report in FILE
#   pf_sanitizer_clean [DESC]       a TAP line: no sanitizer report in any file
#                           kept in $LAB (every pf_run's stderr is kept there)
#
# Everything lives in $LAB; nothing outside it is touched.

pf_lab() {
	lab_setup
	lab_start src
	lab_start tgt
	export XDG_STATE_HOME="$LAB/state"
	printf %s "$TGT_MASTER_PASS" >"$LAB/tgt.pw"
	chmod 600 "$LAB/tgt.pw"
}

pf_csv() {
	lab_csv "$@"
}

pf_batch() {
	local name=$1 csv=$2
	shift 2
	"$MAILFERRY" batch create "$name" --csv "$csv" --source "127.0.0.1:$SRC_TLSPORT" \
		--target "127.0.0.1:$TGT_TLSPORT" --ca-file "$LAB_CA" --target-admin "$TGT_MASTER" \
		--target-password-file "$LAB/tgt.pw" "$@" >"$LAB/batch-$name.out" 2>&1
	rc=$?
	[ "$rc" -eq 0 ] || diag "batch create $name failed ($rc): $(cat "$LAB/batch-$name.out")"
	return "$rc"
}

pf_run() {
	local verb=$1 name=$2
	shift 2
	out=$("$MAILFERRY" "$verb" "$name" --json "$@" 2>"$LAB/stderr")
	rc=$?
	err_out=$(cat "$LAB/stderr")
	cat "$LAB/stderr" >>"$LAB/stderr.all"
}


pf_dump_src() {
	mflab dump src "$1" | LC_ALL=C sort
}

pf_dump_tgt() {
	mflab dump tgt "$1" | LC_ALL=C sort
}

pf_same() {
	lab_same_dumps "$3" "$(pf_dump_src "$1")" "$(pf_dump_tgt "$2")"
}

pf_wait_exit() {
	wait "$1"
	rc=$?
}

pf_wait_for() {
	local t=$1 i
	shift
	for ((i = 0; i < t * 20; i++)); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}

pf_long() {
	[ -n "${MF_LONG_TESTS:-}" ] && [ "${MF_LONG_TESTS:-}" != 0 ]
}

pf_sanitizer_report() {
	grep -m1 -A8 -E 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error|SUMMARY: (Address|Leak|Undefined)' "$1"
}

pf_sanitizer_clean() {
	local hits
	hits=$(grep -rlE 'ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: UndefinedBehaviorSanitizer' \
		--exclude-dir=home --exclude-dir=raw "$LAB" 2>/dev/null)
	is "$hits" "" "${1:-no sanitizer report (ASan, LSan, UBSan) in any output this test kept}"
	[ -n "$hits" ] && diag "$(pf_sanitizer_report $hits | head -20)"
}
