"""PostgreSQL goes away under a running node, and comes back.

On a cluster of its own (tests/pg/pg_cluster.sh), so the other tests' shared
cluster stays up: the server is stopped as a crash would stop it. While it
is down, writes are answered 503 (never 500, never a crash), reads keep being
served from memory and /healthz says the store is unreachable. Once it is
back, the node reopens the tenant from the database by itself and serves
writes again; what was acknowledged is there, what was refused is not, also
after a restart of the node.

Only under PostgreSQL (POND_TEST_PG_URL_FILE).
"""

import os
import subprocess
import time
import unittest

from pond_server import PondTestCase, pg_cluster_url

CLUSTER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pg", "pg_cluster.sh")
RECOVERY_DEADLINE = 30.0


def order(order_id, phone, paid_fen):
    return {"type": "order", "order_id": order_id, "member": {"phone": phone}, "channel": "store",
            "paid_at": "2026-03-01T10:00:00+08:00", "paid_fen": paid_fen}


@unittest.skipUnless(pg_cluster_url(), "needs PostgreSQL (POND_TEST_PG_URL_FILE)")
class PostgresOutageTest(PondTestCase):
    def cluster(self, command):
        p = subprocess.run(["bash", CLUSTER, command, self.state], capture_output=True, timeout=180)
        self.assertEqual(p.returncode, 0, p.stderr.decode("utf-8", "replace"))

    def setUp(self):
        self.state = os.path.join(self.make_tempdir(), "pg")
        self.cluster("start")
        self.addCleanup(self.cluster, "stop")
        with open(os.path.join(self.state, "url")) as f:
            self.url = f.read().strip()

    def member(self, server, phone):
        status, body, _ = server.json("GET", "/api/v1/tenants/shop/members/phone:" + phone)
        return (body["orders"]["count"], body["orders"]["paid_fen"]) if status == 200 else status

    def test_writes_are_refused_while_the_database_is_down_and_served_once_it_is_back(self):
        args = ["--store", self.url, "--node", "outage", "--lease-ttl", "1"]
        server = self.start_server(extra_args=args)
        self.create_tenant(server, "shop")
        status, body, _ = server.json("POST", "/api/v1/tenants/shop/events", [order("A", "13800000001", 100)])
        self.assertEqual((status, body["accepted"]), (200, 1), body)

        self.cluster("pause")
        status, body, _ = server.json("POST", "/api/v1/tenants/shop/events", [order("B", "13800000002", 200)])
        self.assertEqual(status, 503, body)
        status, body, _ = server.json("POST", "/api/v1/tenants/shop/events", [order("B2", "13800000002", 200)])
        self.assertEqual(status, 503, body)  # the tenant refuses writes until the store is back
        self.assertEqual(self.member(server, "13800000001"), (1, 100), "reads are served from memory")
        status, body, _ = server.json("GET", "/healthz")
        self.assertEqual((status, body["store"]), (503, "unreachable"), body)
        self.assertTrue(server.alive())

        self.cluster("resume")
        deadline = time.monotonic() + RECOVERY_DEADLINE
        while True:
            status, body, _ = server.json("POST", "/api/v1/tenants/shop/events", [order("C", "13800000003", 300)])
            if status == 200 or time.monotonic() > deadline:
                break
            self.assertIn(status, (409, 503), body)  # reopening: served by nobody, or not yet writable
            time.sleep(0.1)
        self.assertEqual((status, body["accepted"]), (200, 1), body)
        self.assertEqual(server.json("GET", "/healthz")[0], 200)

        for s in (server, None):
            if s is None:
                server.restart()
                s = server
            self.assertEqual(self.member(s, "13800000001"), (1, 100))
            self.assertEqual(self.member(s, "13800000002"), 404, "a refused write must not appear")
            self.assertEqual(self.member(s, "13800000003"), (1, 300))


if __name__ == "__main__":
    unittest.main()
