# mailferry tests - shared helpers of the fault_*.test and attack_*.test suites
# (sourced by each test; it sources tap.sh, lab.sh and proxy.sh itself).
#
#   fl_setup                 lab + proxy dirs (teardown on every exit path),
#                            XDG_STATE_HOME inside the lab, $FL = scratch dir
#   fl_csv FILE ROW...       a 0600 CSV with the header and mailferry's
#                            per-row target columns; ROW = "email,user,pw,tuser,tpw"
#   fl_batch NAME ARG...     mailferry batch create NAME ARG...; bails out on failure
#   fl_run OUT ARG...        runs mailferry ARG... with stdout in OUT.out and
#                            stderr in OUT.err; sets FL_RC (exit status) and
#                            FL_RSS (peak resident set in kB, from the kernel's
#                            rusage of the finished process, i.e. its VmHWM)
#   fl_migrate OUT NAME ARG...  fl_run OUT migrate NAME --json ARG...
#   fl_same SRCUSER TGTUSER DESC   TAP: mflab dump of the target equals the
#                            source's (every folder, flags, INTERNALDATE,
#                            size, sha256 of the bytes), with a diff on failure
#   fl_no_dups TGTUSER DESC  TAP: no two target messages share folder+sha256
#   fl_sanitizers_quiet FILES DESC  TAP: no AddressSanitizer/LeakSanitizer/
#                            UBSan report in FILES (blank-separated; each must exist)
#   fl_summary OUT KEY       a number from the final JSON summary of OUT.out
#   fl_long                  true when MF_LONG_TESTS=1 asks for the long loops
#   fl_wait_file FILE REGEX SECS   waits until FILE matches REGEX
#
# The suites run the binary make check built (with --enable-sanitizers that is
# the ASan/UBSan build: fl_sanitizers_quiet then really checks something).

. "$srcdir/tests/lib/tap.sh"
. "$srcdir/tests/lab/lab.sh"
. "$srcdir/tests/proxy/proxy.sh"

: "${PYTHON3:=/usr/bin/python3}"
FL_FAKES="$abs_top_srcdir/tests/data/fake"

fl_setup() {
	lab_setup
	px_setup
	export XDG_STATE_HOME="$LAB/state"
	FL="$LAB/fl"
	mkdir -p "$FL"
	command -v "$PYTHON3" >/dev/null 2>&1 || skip_all "python3 is not installed"
}

fl_long() {
	[ "${MF_LONG_TESTS:-0}" = 1 ]
}

fl_csv() {
	local f=$1 row
	shift
	printf 'EmailAddress,UserName,Password,TargetUserName,TargetPassword\n' >"$f"
	for row in "$@"; do
		printf '%s\n' "$row" >>"$f"
	done
	chmod 600 "$f"
}

fl_batch() {
	local name=$1 out
	shift
	out=$("$MAILFERRY" batch create "$name" "$@" 2>&1) ||
		bail_out "batch create $name failed: $out"
}

# fl_run OUT ARG...: the exit status and peak RSS come from a tiny Python
# parent (wait4's rusage: exact, unlike sampling /proc/PID/status).
fl_run() {
	local out=$1
	shift
	"$PYTHON3" - "$out.rss" "$MAILFERRY" "$@" >"$out.out" 2>"$out.err" <<'EOF'
import resource, subprocess, sys
rc = subprocess.call(sys.argv[2:])
with open(sys.argv[1], "w") as f:
    f.write("%d\n" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(rc if rc >= 0 else 128 - rc)
EOF
	FL_RC=$?
	FL_RSS=$(cat "$out.rss" 2>/dev/null || echo 0)
}

fl_migrate() {
	local out=$1 name=$2
	shift 2
	fl_run "$out" migrate "$name" --json "$@"
}

fl_summary() {
	sed -n 's/.*"type":"summary".*"'"$2"'":\([0-9]*\).*/\1/p' "$1.out" | tail -1
}

fl_same() {
	local src tgt
	src=$(mflab dump src "$1" | LC_ALL=C sort) || bail_out "mflab dump src $1 failed"
	tgt=$(mflab dump tgt "$2" | LC_ALL=C sort) || bail_out "mflab dump tgt $2 failed"
	lab_same_dumps "$3" "$src" "$tgt"
}

fl_no_dups() {
	local d
	d=$(mflab dump tgt "$1" | awk -F'\t' '{ print $1 "\t" $5 }' | sort | uniq -d)
	is "$d" "" "$2"
}

fl_sanitizers_quiet() {
	local f text="" missing=""
	for f in $1; do # FILE may be several, separated by blanks
		if [ -r "$f" ]; then
			text+=$(cat "$f")
		else
			missing+=" $f"
		fi
	done
	if [ -n "$missing" ]; then
		ok "$2 (no such file:$missing)" false
		return
	fi
	unlike "$text" 'AddressSanitizer|LeakSanitizer|runtime error|UndefinedBehaviorSanitizer' "$2"
}

fl_wait_file() {
	local i
	for i in $(seq 1 $(($3 * 10))); do
		grep -Eq -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# fl_tls_proxy NAME UPSTREAM_PORT RULE...: mfproxy terminating implicit TLS
# in front of a lab Dovecot's imaps port (rules and counts see plaintext IMAP).
fl_tls_proxy() {
	local name=$1 port=$2
	shift 2
	local args=() r
	for r in "$@"; do
		args+=(--rule "$r")
	done
	proxy_start "$name" --upstream "127.0.0.1:$port" --tls implicit \
		--tls-cert "$LAB/certs/good.crt" --tls-key "$LAB/certs/good.key" \
		--tls-ca "$LAB_CA" "${args[@]}"
}

# fl_seed_bulk INSTANCE USER PASSWORD FOLDER COUNT BODYLINES: COUNT messages of
# about 60*BODYLINES bytes each, with Message-IDs, varied flags and dates,
# appended in one IMAP session (fast, unlike one mflab call per message).
fl_seed_bulk() {
	local up port
	up=$(printf '%s' "$1" | tr '[:lower:]' '[:upper:]')
	port=$(eval echo "\$${up}_PORT")
	"$PYTHON3" - "$port" "$2" "$3" "$4" "$5" "$6" <<'PY' || bail_out "fl_seed_bulk failed"
import email.utils, imaplib, sys
port, user, pw, folder, count, lines = sys.argv[1:7]
m = imaplib.IMAP4("127.0.0.1", int(port))
m.login(user, pw)
if folder != "INBOX":
    m.create('"%s"' % folder)
flags = ["(\\Seen)", None, "(\\Seen \\Flagged)", "(\\Answered)", "($Label1 \\Seen)"]
for i in range(int(count)):
    date = 1600000000 + i * 3607
    body = "".join("bulk line %04d of message %d in %s, padding....\r\n" % (k, i, folder)
                   for k in range(int(lines)))
    msg = ("From: Bulk <bulk@example.org>\r\nTo: %s@example.org\r\n"
           "Subject: bulk %d\r\nDate: %s\r\nMessage-ID: <bulk.%d.%s@fault.example>\r\n\r\n%s"
           % (user, i, email.utils.formatdate(date), i, folder, body))
    typ, _ = m.append('"%s"' % folder, flags[i % len(flags)], imaplib.Time2Internaldate(date),
                      msg.encode())
    if typ != "OK":
        sys.exit("APPEND failed")
m.logout()
PY
}

# fl_std_lab: a source and a target Dovecot, alice on the source with the
# sample mailbox (10 folders, flags, keywords, non-ASCII names: 40 messages)
# and a Bulk folder of 70 messages of ~2 KB (two fetch/append chunks of 50).
fl_std_lab() {
	lab_start src
	lab_start tgt
	lab_user src alice 'alice-src-pw'
	mflab seed-sample src alice >/dev/null || bail_out "seeding failed"
	fl_seed_bulk src alice 'alice-src-pw' Bulk 70 40
}

# fl_target_users N: target users t1..tN (password tpw), created up front:
# Dovecot's passwd-file may not notice users added later in the same second.
fl_target_users() {
	local i
	for i in $(seq 1 "$1"); do
		lab_user tgt "t$i" tpw
	done
}

# fl_case_batch NAME TUSER SRCPORT TGTPORT ARG...: a one-mailbox batch alice -> TUSER
# (alice's source password: $FL_SRC_PW, default alice-src-pw).
fl_case_batch() {
	local name=$1 tuser=$2 sport=$3 tport=$4
	shift 4
	fl_csv "$FL/$name.csv" "alice@example.org,alice,${FL_SRC_PW:-alice-src-pw},$tuser,tpw"
	fl_batch "$name" --csv "$FL/$name.csv" --source "127.0.0.1:$sport" \
		--target "127.0.0.1:$tport" --ca-file "$LAB_CA" "$@"
}

# fl_log NAME: the batch's own log file.
fl_log() {
	cat "$XDG_STATE_HOME/mailferry/$1/mailferry.log" 2>/dev/null
}

# fl_gap LOG A B: seconds (3 decimals) from the first line of mfproxy's LOG
# where rule A acted on connection 1 to the next line where rule B acted on
# connection 1 (-1 when B never acted after A).
fl_gap() {
	awk -v a="conn 1: rule $2 " -v b="conn 1: rule $3 " '
		t1 == "" && index($0, a) && $0 ~ /(rewrote|fired|injected|dropped)/ { t1 = $1; next }
		t1 != "" && index($0, b) && $0 ~ /(rewrote|fired|injected|dropped)/ { printf "%.3f\n", $1 - t1; f = 1; exit }
		END { if (!f) print -1 }' "$1"
}

# fl_ge X Y: whether the decimal X >= Y.
fl_ge() {
	awk -v x="$1" -v y="$2" 'BEGIN { exit !(x + 0 >= y + 0) }'
}

# fl_tls_relay NAME MAXVER UPSTREAM_PORT: a TLS endpoint (the lab's good
# certificate) that speaks at most TLS version MAXVER (TLSv1, TLSv1_1, ...;
# old ciphers allowed) and relays the plaintext to 127.0.0.1:UPSTREAM_PORT (a
# lab Dovecot's plaintext port).  Exports NAME_PORT; stopped at exit.  Each
# handshake's outcome is appended to $FL/NAME.log ("ok TLSv1.1" or "fail ...").
fl_tls_relay() {
	local up pf="$FL/$1.port"
	up=$(printf '%s' "$1" | tr '[:lower:]' '[:upper:]')
	"$PYTHON3" - "$pf" "$2" "$3" "$LAB/certs/good.crt" "$LAB/certs/good.key" "$FL/$1.log" "$$" \
		>"$FL/$1.out" 2>&1 <<'PY' &
import os, select, socket, ssl, sys, threading, time
pf, maxver, upport, crt, key, logf, watch = sys.argv[1:8]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.minimum_version = ssl.TLSVersion.TLSv1
ctx.maximum_version = getattr(ssl.TLSVersion, maxver)
ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
ctx.load_cert_chain(crt, key)
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(16)
with open(pf + ".tmp", "w") as f:
    f.write("%d\n" % ls.getsockname()[1])
os.rename(pf + ".tmp", pf)

def log(text):
    with open(logf, "a") as f:
        f.write(text + "\n")

def serve(c):
    try:
        t = ctx.wrap_socket(c, server_side=True)
    except (ssl.SSLError, OSError) as e:
        log("fail %s" % e)
        c.close()
        return
    log("ok %s" % t.version())
    u = socket.create_connection(("127.0.0.1", int(upport)))
    try:
        while True:
            r, _, _ = select.select([t, u], [], [], 60)
            if not r:
                break
            if t in r:
                d = t.recv(65536)
                if not d:
                    break
                u.sendall(d)
            if u in r:
                d = u.recv(65536)
                if not d:
                    break
                t.sendall(d)
    except (ssl.SSLError, OSError):
        pass
    t.close()
    u.close()

def watchdog():
    while True:
        try:
            os.kill(int(watch), 0)
        except OSError:
            os._exit(0)
        time.sleep(0.5)

threading.Thread(target=watchdog, daemon=True).start()
while True:
    c, _ = ls.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
	_px_pids="$_px_pids $!"
	_px_wait_port "$!" "$pf" || bail_out "TLS relay $1 did not start: $(cat "$FL/$1.out")"
	export "${up}_PORT=$(cat "$pf")"
}
