"""
Drives a server with auth enabled through python3-etcd3's user and password (etcd3.client(user=...,
password=...)) and prints one JSON object of what it observed; test/e2e/auth-python.test.ts sets the
users up with etcdctl and asserts on the report. This script asserts nothing itself.

    python3 etcd3_auth.py HOST PORT CA_CERT CLIENT_KEY CLIENT_CERT
"""
import json
import sys

import etcd3

host, port = sys.argv[1], int(sys.argv[2])
tls = {"ca_cert": sys.argv[3], "cert_key": sys.argv[4], "cert_cert": sys.argv[5]}
report = {}


def error_of(fn):
    try:
        fn()
        return None
    except Exception as e:  # the class and text the client shows its user
        return {"type": type(e).__name__, "text": str(e)}


root = etcd3.client(host=host, port=port, timeout=10, **tls, user="root", password="rootpw")
root.put("/app/py", "from-root")
root.put("/other/py", "secret")
alice = etcd3.client(host=host, port=port, timeout=10, **tls, user="alice", password="apw")
value, _ = alice.get("/app/py")
report["alice_reads_prefix"] = None if value is None else value.decode()
report["alice_prefix"] = sorted(m.key.decode() for _, m in alice.get_prefix("/app/"))
report["alice_other"] = error_of(lambda: alice.get("/other/py"))
report["alice_put"] = error_of(lambda: alice.put("/app/py", "x"))
report["alice_txn_compare_other"] = error_of(lambda: alice.transaction(
    compare=[alice.transactions.version("/other/py") > 0], success=[alice.transactions.get("/app/py")], failure=[]))
report["wrong_password"] = error_of(lambda: etcd3.client(host=host, port=port, timeout=10, **tls, user="alice", password="nope").get("/app/py"))
value, _ = root.get("/app/py")
report["unchanged"] = None if value is None else value.decode()
print(json.dumps(report))
