#!/usr/bin/env python3
"""faultproxy.py -- an HTTP reverse proxy that injects object-store faults,
for t/025_store_faults.pl.  Python 3 standard library only.

  faultproxy.py --port P --upstream http://127.0.0.1:U --control FILE
                --log FILE [--cert PEM --key PEM]

Listens on 127.0.0.1:P (HTTPS with --cert/--key) and forwards every request
to the upstream store (the S3 rig) with its method, path, query and headers
as received: the Host header too, which AWS Signature V4 signs, so the
client signs for the proxy and the store checks that signature.

The behaviour is given by the lines of the control FILE, read again
whenever the file changes (write it to a temporary name and rename it over
FILE); a request takes the first line that applies to it:

  pass                   forward everything (also: no file)
  status CODE [N]        answer the next N matching requests (default: all)
                         with CODE and an S3 error document
  slow MS [N]            forward, but wait MS milliseconds before answering
  truncate [N]           forward; of a 2xx body, send the headers as the
                         store sent them (Content-Length included) and half
                         the body, then close: the client can see it is cut
  cut [N]                the same without Content-Length (the body ends at
                         the close): at the HTTP level it looks complete
  hang [N]               read the request and never answer (until the mode
                         changes or 10 minutes pass; then close)

Any line may end with ~REGEX: it applies only to requests whose path (with
query) matches REGEX.  A line whose count is used up no longer applies; a
request no line applies to is forwarded.  A changed file resets the counts.
("pass" is a line that applies to every request it matches.)

Each request is one line of --log: "<n> <METHOD> <path> -> <what>" (what:
pass 200, status 500, slow 200, truncate 200 sent/total, cut 200
sent/total, hang, client gone ...); each newly read control file a line
"mode <line> | <line> ..."; "listening" once the proxy is up.
"""
import argparse
import http.client
import http.server
import os
import re
import socket
import ssl
import sys
import threading
import time
import urllib.parse

A = None
LOCK = threading.Lock()
STATE = {'key': None, 'rules': [], 'seq': 0, 'gen': 0}
HOP = {'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te',
       'trailer', 'upgrade', 'proxy-authenticate', 'proxy-authorization'}


def log(line):
    with LOCK:
        with open(A.log, 'a') as f:
            f.write(line + '\n')


def parse_rule(line):
    """[mode, count or None, regex or None] of one control line"""
    words = line.split()
    match = None
    if words and words[-1].startswith('~'):
        match = re.compile(words.pop()[1:])
    mode = words or ['pass']
    # the optional count is the number after the mode's own arguments
    nargs = {'status': 2, 'slow': 2, 'truncate': 1, 'cut': 1, 'hang': 1}
    left = None
    if mode[0] in nargs and len(mode) > nargs[mode[0]]:
        left = int(mode[nargs[mode[0]]])
    return [mode, left, match]


def reload_mode():
    """re-read the control file if it changed (under LOCK)"""
    try:
        st = os.stat(A.control)
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
    except FileNotFoundError:
        key = None
    if key == STATE['key']:
        return
    STATE['key'] = key
    lines = []
    if key is not None:
        with open(A.control) as f:
            lines = [l.strip() for l in f if l.strip()]
    STATE['rules'] = [parse_rule(l) for l in lines]
    STATE['gen'] += 1
    with open(A.log, 'a') as f:
        f.write('mode %s\n' % (' | '.join(lines) or 'pass'))


def take(path):
    """the mode that applies to this request, its number, the generation"""
    with LOCK:
        reload_mode()
        STATE['seq'] += 1
        n = STATE['seq']
        for rule in STATE['rules']:
            mode, left, match = rule
            if match is not None and not match.search(path):
                continue
            if left is not None:
                if left <= 0:
                    continue
                rule[1] -= 1
            return mode, n, STATE['gen']
        return ['pass'], n, STATE['gen']


def current_gen():
    with LOCK:
        reload_mode()
        return STATE['gen']


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *args):
        pass

    def body_in(self):
        n = int(self.headers.get('Content-Length') or 0)
        return self.rfile.read(n) if n > 0 else None

    def error_reply(self, code, n):
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code>'
                '<Message>fault injected by faultproxy</Message></Error>' %
                ('ServiceUnavailable' if code == 503 else 'SlowDown' if code == 429
                 else 'InternalError')).encode()
        self.send_response(code)
        self.send_header('Content-Type', 'application/xml')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(body)
        log('%d %s %s -> status %d' % (n, self.command, self.path, code))

    def hang(self, n, gen):
        log('%d %s %s -> hang' % (n, self.command, self.path))
        t0 = time.time()
        while time.time() - t0 < 600 and current_gen() == gen:
            time.sleep(0.1)
        self.close_connection = True

    def forward(self, mode, n):
        body = self.body_in()
        u = urllib.parse.urlsplit(A.upstream)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=600)
        conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        for k, v in self.headers.items():
            if k.lower() not in HOP:
                conn.putheader(k, v)
        if body is not None and 'content-length' not in (k.lower() for k in self.headers):
            conn.putheader('Content-Length', str(len(body)))
        conn.endheaders(body)
        r = conn.getresponse()
        data = r.read()
        conn.close()
        if mode[0] == 'slow':
            time.sleep(int(mode[1]) / 1000.0)
        cut = mode[0] in ('truncate', 'cut') and 200 <= r.status < 300 and \
            self.command != 'HEAD' and len(data) > 1
        self.send_response(r.status, r.reason)
        for k, v in r.getheaders():
            if k.lower() in HOP or k.lower() == 'content-length':
                continue
            self.send_header(k, v)
        if cut and mode[0] == 'cut':
            self.send_header('Connection', 'close')
        else:
            self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        if self.command == 'HEAD':
            log('%d %s %s -> %s %d' % (n, self.command, self.path, mode[0], r.status))
            return
        if cut:
            half = len(data) // 2
            self.wfile.write(data[:half])
            self.wfile.flush()
            # close without a clean TLS shutdown or FIN handshake games:
            # the client sees the connection end
            self.close_connection = True
            log('%d %s %s -> %s %d %d/%d' % (n, self.command, self.path, mode[0],
                                           r.status, half, len(data)))
            return
        self.wfile.write(data)
        log('%d %s %s -> %s %d' % (n, self.command, self.path,
                                   'slow' if mode[0] == 'slow' else 'pass', r.status))

    def handle_any(self):
        mode, n, gen = take(self.path)
        try:
            if mode[0] == 'status':
                self.body_in()
                self.error_reply(int(mode[1]), n)
            elif mode[0] == 'hang':
                self.hang(n, gen)
            else:
                self.forward(mode, n)
        except (BrokenPipeError, ConnectionResetError, socket.timeout, ssl.SSLError) as e:
            log('%d %s %s -> client gone (%s)' % (n, self.command, self.path, e.__class__.__name__))
            self.close_connection = True
        except Exception as e:      # the upstream failed: a 502, as a proxy does
            log('%d %s %s -> upstream error %r' % (n, self.command, self.path, e))
            try:
                self.error_reply(502, n)
            except Exception:
                pass
            self.close_connection = True

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = handle_any


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    global A
    p = argparse.ArgumentParser()
    p.add_argument('--port', type=int, required=True)
    p.add_argument('--upstream', required=True)
    p.add_argument('--control', required=True)
    p.add_argument('--log', required=True)
    p.add_argument('--cert')
    p.add_argument('--key')
    A = p.parse_args()
    srv = Server(('127.0.0.1', A.port), Handler)
    if A.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(A.cert, A.key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    with LOCK:
        reload_mode()
    log('listening')
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == '__main__':
    sys.exit(main())
