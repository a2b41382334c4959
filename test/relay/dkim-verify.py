#!/usr/bin/env python3
"""Verifies the first DKIM-Signature of the message on stdin with dkimpy (python3-dkim).

argv[1]: file with the selector's DNS TXT record (v=DKIM1; k=rsa; p=...): the test has no DNS,
so dkimpy's resolver is replaced by one that answers exactly that record for that name.
argv[2]: the name it is published under (selector._domainkey.domain). Exit 0 when it verifies.
"""
import sys
import dkim

record = open(sys.argv[1], "rb").read().strip()
name = sys.argv[2].encode()

def dnsfunc(qname, timeout=5):
    q = qname if isinstance(qname, bytes) else qname.encode()
    return record if q.rstrip(b".") == name else None

msg = sys.stdin.buffer.read()
ok = dkim.verify(msg, dnsfunc=dnsfunc)
print("pass" if ok else "fail")
sys.exit(0 if ok else 1)
