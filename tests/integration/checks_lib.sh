# mailferry tests - helpers for the checks tests (source after tap.sh and lab.sh).
#
#   mkbatch NAME ARGS...        mailferry batch create NAME ARGS..., bails out if it fails
#   run_checks NAME ARGS...     mailferry check NAME --json ARGS...; JSON lines in $out, status in $rc
#   res ID [SUBJECT]            one result of $out as "STATUS | title | detail | remedy"
#                               (newlines as " / "); SUBJECT "" for batch checks
#   check_is DESC ID SUBJECT STATUS [ERE]
#                               a TAP line: that result has STATUS and its text matches ERE
#   ledger_set NAME KEY VALUE   writes a setting into the batch's ledger (tests' time travel)
#   free_port                   a loopback TCP port nothing listens on

mkbatch() {
	local name=$1 o
	shift
	o=$("$MAILFERRY" batch create "$name" "$@" 2>&1) || bail_out "cannot create batch $name: $o"
}

run_checks() {
	local name=$1
	shift
	out=$("$MAILFERRY" check "$name" --json "$@" 2>&1)
	rc=$?
}

res() {
	printf '%s\n' "$out" | /usr/bin/python3 -c '
import json, sys
want_id = sys.argv[1]
want_subject = sys.argv[2] if len(sys.argv) > 2 else None
for line in sys.stdin:
    try:
        j = json.loads(line)
    except ValueError:
        continue
    if j.get("type") not in ("check", "delivery") or j.get("id") != want_id:
        continue
    if want_subject is not None and j.get("subject", "").lower() != want_subject.lower():
        continue
    print(" | ".join([j["status"], j["title"], j["detail"].replace("\n", " / "),
                      j["remedy"].replace("\n", " / ")]))
    break
' "$@"
}

check_is() {
	local desc=$1 id=$2 subject=$3 status=$4 re=${5:-}
	like "$(res "$id" "$subject")" "^$status \\| .*${re}" "$desc"
}

ledger_set() {
	/usr/bin/python3 - "$XDG_STATE_HOME/mailferry/$1/ledger.db" "$2" "$3" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("INSERT OR REPLACE INTO settings(key, value) VALUES (?, ?)", (sys.argv[2], sys.argv[3]))
db.commit()
PY
}

free_port() {
	/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
