#!/usr/bin/env python3
"""gcsrig.py -- a local Google Cloud Storage for t/015: the XML API subset
the client speaks and an OAuth2 token endpoint, over HTTPS, standard library
and the openssl command only.

  gcsrig.py --dir DATA --port P --cert C --key K --sa-pub PUB.pem
            --client-email E [--expires-in N] [--log FILE]

Objects are the files under DATA/<bucket>/<name>.

POST /token (grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer,
assertion=JWT): the JWT's RS256 signature is VERIFIED with the service
account's public key (openssl dgst -verify), and its claims: iss is the
account's e-mail, aud is this endpoint's URL, scope holds devstorage, exp is
in the future and at most an hour after iat.  Answers a fresh random token
valid --expires-in seconds, or 400 {"error": "invalid_grant", ...} as Google
does.

Storage: GET /<bucket>?list-type=2 (prefix, delimiter, max-keys,
continuation-token) as ListBucketResult; GET and HEAD /<bucket>/<name>
(Range, If-Match); every request needs "Authorization: Bearer <token>" with
a token this server issued and that has not expired, else 401
AuthenticationRequired (counted).  Each event is a line of --log:
"token issued", "token refused <why>", "storage refused <why>", "GET <path>".
"""
import argparse
import base64
import hashlib
import http.server
import json
import os
import secrets
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from xml.sax.saxutils import escape

A = None
TOKENS = {}                 # token -> expiry (time.time())
LOCK = threading.Lock()


def log(line):
    with LOCK:
        with open(A.log, 'a') as f:
            f.write(line + '\n')


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + '=' * (-len(s) % 4))


def verify_rs256(signed, sig):
    with tempfile.NamedTemporaryFile() as d, tempfile.NamedTemporaryFile() as s:
        d.write(signed)
        d.flush()
        s.write(sig)
        s.flush()
        r = subprocess.run(['openssl', 'dgst', '-sha256', '-verify', A.sa_pub,
                            '-signature', s.name, d.name],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return r.returncode == 0


def check_jwt(jwt, aud):
    parts = jwt.split('.')
    if len(parts) != 3:
        return 'not a JWT'
    try:
        header = json.loads(b64url_decode(parts[0]))
        claims = json.loads(b64url_decode(parts[1]))
        sig = b64url_decode(parts[2])
    except Exception:
        return 'not a JWT'
    if header.get('alg') != 'RS256' or header.get('typ') != 'JWT':
        return 'bad header'
    if not verify_rs256((parts[0] + '.' + parts[1]).encode(), sig):
        return 'Invalid JWT Signature.'
    now = time.time()
    if claims.get('iss') != A.client_email:
        return 'bad iss'
    if claims.get('aud') != aud:
        return 'bad aud'
    if 'devstorage' not in claims.get('scope', ''):
        return 'bad scope'
    iat, exp = claims.get('iat', 0), claims.get('exp', 0)
    if not (iat - 60 <= now < exp) or exp - iat > 3600:
        return 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.'
    return None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *args):
        pass

    def reply(self, code, body=b'', ctype='application/xml', headers=None, head=False):
        self.send_response(code)
        self.send_header('Content-Type', ctype)
        self.send_header('Content-Length', str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def error(self, code, xcode, msg, head=False):
        body = ('<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code>'
                '<Message>%s</Message></Error>' % (xcode, escape(msg))).encode()
        self.reply(code, body, head=head)

    # ---------- the token endpoint ----------
    def do_POST(self):
        n = int(self.headers.get('Content-Length', '0'))
        form = urllib.parse.parse_qs(self.rfile.read(n).decode())
        if self.path != '/token':
            return self.reply(404, b'{}', 'application/json')
        aud = 'https://127.0.0.1:%d/token' % A.port
        why = None
        if form.get('grant_type') != ['urn:ietf:params:oauth:grant-type:jwt-bearer']:
            why = 'bad grant_type'
        elif len(form.get('assertion', [])) != 1:
            why = 'no assertion'
        else:
            why = check_jwt(form['assertion'][0], aud)
        if why:
            log('token refused ' + why)
            body = json.dumps({'error': 'invalid_grant', 'error_description': why}).encode()
            return self.reply(400, body, 'application/json')
        token = 'ya29.test-' + secrets.token_hex(24)
        with LOCK:
            TOKENS[token] = time.time() + A.expires_in
        log('token issued')
        body = json.dumps({'access_token': token, 'expires_in': A.expires_in,
                           'token_type': 'Bearer'}).encode()
        self.reply(200, body, 'application/json')

    # ---------- storage ----------
    def authorized(self, head):
        auth = self.headers.get('Authorization', '')
        why = None
        if not auth.startswith('Bearer '):
            why = 'no token'
        else:
            with LOCK:
                exp = TOKENS.get(auth[7:])
            if exp is None:
                why = 'unknown token'
            elif time.time() >= exp:
                why = 'expired token'
        if why:
            log('storage refused ' + why)
            self.error(401, 'AuthenticationRequired', 'Authentication required.', head)
            return False
        return True

    def do_HEAD(self):
        self.do_GET(head=True)

    def do_GET(self, head=False):
        if not self.authorized(head):
            return
        u = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(u.path)
        q = urllib.parse.parse_qs(u.query, keep_blank_values=True)
        bucket, _, name = path.lstrip('/').partition('/')
        bdir = os.path.join(A.dir, bucket)
        if not bucket or '..' in path.split('/') or not os.path.isdir(bdir):
            return self.error(404, 'NoSuchBucket', 'The specified bucket does not exist.', head)
        if name == '':
            return self.list(bucket, bdir, q)
        log('GET ' + path)
        f = os.path.join(bdir, name)
        if not os.path.isfile(f):
            return self.error(404, 'NoSuchKey', 'The specified key does not exist.', head)
        with open(f, 'rb') as fh:
            data = fh.read()
        etag = '"%s"' % hashlib.md5(data).hexdigest()
        im = self.headers.get('If-Match')
        if im and im != etag:
            return self.error(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold.', head)
        hdr = {'ETag': etag, 'Last-Modified': 'Sun, 06 Dec 2026 12:00:00 GMT'}
        rng = self.headers.get('Range')
        if rng and rng.startswith('bytes='):
            s, _, e = rng[6:].partition('-')
            s = int(s)
            e = min(int(e), len(data) - 1) if e else len(data) - 1
            if s >= len(data):
                return self.error(416, 'InvalidRange', 'The requested range cannot be satisfied.', head)
            hdr['Content-Range'] = 'bytes %d-%d/%d' % (s, e, len(data))
            return self.reply(206, data[s:e + 1], 'application/octet-stream', hdr, head)
        self.reply(200, data, 'application/octet-stream', hdr, head)

    def list(self, bucket, bdir, q):
        prefix = q.get('prefix', [''])[0]
        delim = q.get('delimiter', [''])[0]
        maxk = int(q.get('max-keys', ['1000'])[0])
        after = q.get('continuation-token', [''])[0]
        after = b64url_decode(after).decode() if after else ''
        names = []
        for root, _, files in os.walk(bdir):
            for fn in files:
                names.append(os.path.relpath(os.path.join(root, fn), bdir))
        entries = []            # (name, is_prefix)
        seen = set()
        for n in sorted(names):
            if not n.startswith(prefix):
                continue
            if delim and delim in n[len(prefix):]:
                p = n[:len(prefix) + n[len(prefix):].index(delim) + len(delim)]
                if p not in seen:
                    seen.add(p)
                    entries.append((p, True))
            else:
                entries.append((n, False))
        entries = [e for e in entries if e[0] > after]
        page, more = entries[:maxk], len(entries) > maxk
        out = ['<?xml version="1.0" encoding="UTF-8"?>',
               '<ListBucketResult xmlns="http://doc.s3.amazonaws.com/2006-03-01">',
               '<Name>%s</Name><Prefix>%s</Prefix><KeyCount>%d</KeyCount><MaxKeys>%d</MaxKeys>'
               '<IsTruncated>%s</IsTruncated>' % (bucket, escape(prefix), len(page), maxk,
                                                  'true' if more else 'false')]
        if more:
            tok = base64.urlsafe_b64encode(page[-1][0].encode()).decode()
            out.append('<NextContinuationToken>%s</NextContinuationToken>' % tok)
        for n, is_prefix in page:
            if is_prefix:
                out.append('<CommonPrefixes><Prefix>%s</Prefix></CommonPrefixes>' % escape(n))
            else:
                with open(os.path.join(bdir, n), 'rb') as fh:
                    data = fh.read()
                out.append('<Contents><Key>%s</Key><Generation>1</Generation>'
                           '<LastModified>2026-12-06T12:00:00.000Z</LastModified>'
                           '<ETag>"%s"</ETag><Size>%d</Size></Contents>'
                           % (escape(n), hashlib.md5(data).hexdigest(), len(data)))
        out.append('</ListBucketResult>')
        self.reply(200, '\n'.join(out).encode())


def main():
    global A
    p = argparse.ArgumentParser()
    for o in ('--dir', '--cert', '--key', '--sa-pub', '--client-email', '--log'):
        p.add_argument(o, required=True)
    p.add_argument('--port', type=int, required=True)
    p.add_argument('--expires-in', type=int, default=3600)
    A = p.parse_args()
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', A.port), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(A.cert, A.key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    log('listening')
    srv.serve_forever()


if __name__ == '__main__':
    sys.exit(main())
