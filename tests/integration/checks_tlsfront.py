#!/usr/bin/python3
"""checks_tlsfront - a TLS 1.1-only front for a lab Dovecot (Python 3 stdlib only).

Old IMAP servers are often reached through a TLS terminator (stunnel) that
speaks only TLS 1.0/1.1.  This plays one: it accepts TLS 1.1 (and nothing
else) on a kernel-chosen loopback port and relays each connection to a
Dovecot plaintext port, so the IMAP behind it is real.

    checks_tlsfront.py CERT KEY BACKEND_PORT PORTFILE

writes the listening port to PORTFILE once it accepts, then serves until
SIGTERM.
"""
import os
import signal
import socket
import ssl
import sys
import threading
import warnings


def relay(a, b):
    try:
        while True:
            data = a.recv(65536)
            if not data:
                break
            b.sendall(data)
    except OSError:
        pass
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def serve_one(ctx, conn, backend_port):
    try:
        tls = ctx.wrap_socket(conn, server_side=True)
    except (ssl.SSLError, OSError):
        conn.close()
        return
    try:
        back = socket.create_connection(("127.0.0.1", backend_port), timeout=10)
        back.settimeout(None)
    except OSError:
        tls.close()
        return
    threading.Thread(target=relay, args=(back, tls), daemon=True).start()
    relay(tls, back)


def main(argv):
    if len(argv) != 5:
        sys.stderr.write(__doc__)
        return 2
    cert, key, backend_port, portfile = argv[1], argv[2], int(argv[3]), argv[4]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        ctx.minimum_version = ssl.TLSVersion.TLSv1_1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    ctx.load_cert_chain(cert, key)
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    signal.signal(signal.SIGTERM, lambda s, f: os._exit(0))
    with open(portfile + ".tmp", "w") as f:
        f.write("%d\n" % srv.getsockname()[1])
    os.rename(portfile + ".tmp", portfile)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve_one, args=(ctx, conn, backend_port), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
