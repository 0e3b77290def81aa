"""Several nodes on one PostgreSQL store: each tenant is written by one node.

Two `pond serve` processes share a database. The node that holds a tenant's
lease serves it; the other answers 409 `not_owner` naming it. When the owner
is killed with SIGKILL while clients write, the other node takes the tenant
over once the lease expires and serves every acknowledged write, none twice.
A node stopped cleanly hands its tenants over at once.

Only under PostgreSQL (POND_TEST_PG_URL_FILE); the embedded store belongs to
one process.
"""

import json
import threading
import time
import unittest

from pond_server import PondTestCase, pg_cluster_url, run_pond

LEASE_TTL = 1.0        # seconds: short, so the takeover is quick
TAKEOVER_DEADLINE = 20.0
THREADS = 3
ORDERS = 20            # per batch


def batch_events(t, b):
    phone = "16%d%08d" % (t, b)
    return [{"type": "order", "order_id": "N-%d-%d-%d" % (t, b, k), "member": {"phone": phone},
             "channel": "store", "paid_at": "2026-03-01T10:%02d:00+08:00" % k, "paid_fen": 100 + k}
            for k in range(ORDERS)]


def batch_body(t, b):
    return "".join(json.dumps(e) + "\n" for e in batch_events(t, b)).encode()


def batch_paid(t, b):
    return sum(e["paid_fen"] for e in batch_events(t, b))


@unittest.skipUnless(pg_cluster_url(), "several nodes need the PostgreSQL store (POND_TEST_PG_URL_FILE)")
class NodesTest(PondTestCase):
    def start_node(self, data, name):
        return self.start_server(data, extra_args=["--node", name, "--lease-ttl", str(LEASE_TTL)])

    def wait_until_served(self, node, tenant):
        """Polls `node` until it serves `tenant`; returns the seconds it took."""
        start = time.monotonic()
        while time.monotonic() - start < TAKEOVER_DEADLINE:
            status, body, _ = node.json("GET", "/api/v1/tenants/%s/members/phone:13900000000" % tenant)
            if status == 404 and "tenant" not in body["detail"]:  # served; the member is unknown
                return time.monotonic() - start
            # Sent to the old owner until the lease is taken, then told to
            # wait while the tenant loads: never told it does not exist.
            self.assertIn(status, (409, 503), body)
            time.sleep(0.05)
        self.fail("%s did not take %s over within %.0f s" % (node, tenant, TAKEOVER_DEADLINE))

    def assert_refers_to(self, node, tenant, owner, owner_name):
        status, body, headers = node.json("POST", "/api/v1/tenants/%s/events" % tenant,
                                          batch_events(9, 0))
        self.assertEqual(status, 409, body)
        self.assertEqual(body["reason"], "not_owner")
        self.assertEqual(body["owner"], {"node": owner_name, "address": "http://127.0.0.1:%d" % owner.port})
        self.assertEqual(headers.get("pond-owner"), "http://127.0.0.1:%d" % owner.port)

    def test_owner_killed_under_load_the_other_node_takes_over_losing_nothing(self):
        data = self.make_tempdir() + "/data"  # one database for both nodes
        a = self.start_node(data, "node-a")
        self.create_tenant(a, "shop")
        b = self.start_node(data, "node-b")
        self.assert_refers_to(b, "shop", a, "node-a")
        # Reads go to the owner too: the other node holds no state of the tenant.
        self.assertEqual(b.json("GET", "/api/v1/tenants/shop/members/phone:13900000000")[0], 409)

        acked, lock, stop = [], threading.Lock(), threading.Event()

        def client(t):
            conn = None
            for n in range(10_000):
                if stop.is_set():
                    return
                try:
                    conn = conn or a.connection(timeout=10)
                    conn.request("POST", "/api/v1/tenants/shop/events", body=batch_body(t, n),
                                 headers={"Content-Type": "application/x-ndjson"})
                    resp = conn.getresponse()
                    resp.read()
                except OSError:
                    return  # the node is gone
                if resp.status == 200:
                    with lock:
                        acked.append((t, n))

        threads = [threading.Thread(target=client, args=(t,)) for t in range(THREADS)]
        for th in threads:
            th.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with lock:
                if len(acked) >= 60:
                    break
            time.sleep(0.01)
        a.kill()  # SIGKILL
        stop.set()
        for th in threads:
            th.join(15)
        self.assertGreaterEqual(len(acked), 60, "the load never got going")

        took = self.wait_until_served(b, "shop")
        print("\ntakeover after SIGKILL: %.2f s (lease %.1f s), %d batches acknowledged" % (took, LEASE_TTL, len(acked)))
        for t, n in acked:
            status, m, _ = b.json("GET", "/api/v1/tenants/shop/members/phone:16%d%08d" % (t, n))
            self.assertEqual(status, 200, "acknowledged batch %s lost" % ((t, n),))
            self.assertEqual((m["orders"]["count"], m["orders"]["paid_fen"]), (ORDERS, batch_paid(t, n)),
                             "batch %s applied partly or twice" % ((t, n),))
        # The new owner writes, and a resent batch is a duplicate, not a second copy.
        t, n = acked[0]
        status, body, _ = b.json("POST", "/api/v1/tenants/shop/events", batch_events(t, n))
        self.assertEqual((status, body["accepted"], body["duplicates"]), (200, 0, ORDERS), body)
        status, body, _ = b.json("POST", "/api/v1/tenants/shop/events", batch_events(7, 1))
        self.assertEqual((status, body["accepted"]), (200, ORDERS), body)

        # The killed node comes back under its name after the takeover: it
        # is now the one that refers callers to the owner.
        a.start()
        self.assert_refers_to(a, "shop", b, "node-b")

    def test_a_clean_stop_hands_the_tenants_over_without_waiting_for_the_lease(self):
        data = self.make_tempdir() + "/data"
        a = self.start_server(data, extra_args=["--node", "node-a", "--lease-ttl", "60"])
        self.create_tenant(a, "calm")
        status, body, _ = a.json("POST", "/api/v1/tenants/calm/events", batch_events(1, 1))
        self.assertEqual(status, 200, body)
        b = self.start_server(data, extra_args=["--node", "node-b", "--lease-ttl", "1"])
        self.assert_refers_to(b, "calm", a, "node-a")
        a.stop()
        took = self.wait_until_served(b, "calm")
        self.assertLess(took, 30, "waited for a 60 s lease a clean stop should have let go")
        status, m, _ = b.json("GET", "/api/v1/tenants/calm/members/phone:16100000001")
        self.assertEqual((status, m["orders"]["count"]), (200, ORDERS), m)

    def test_a_tenant_created_on_one_node_is_refused_on_the_other(self):
        data = self.make_tempdir() + "/data"
        a = self.start_node(data, "node-a")
        b = self.start_node(data, "node-b")
        self.create_tenant(a, "first")
        # b learns of the tenant at its next lease round.
        deadline = time.monotonic() + TAKEOVER_DEADLINE
        while b.json("GET", "/api/v1/tenants/first/members/phone:13900000000")[0] != 409 and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assert_refers_to(b, "first", a, "node-a")
        status, body, _ = b.json("POST", "/api/v1/tenants", {"id": "first", "name": "Tenant first"})
        self.assertEqual((status, body.get("reason")), (409, "not_owner"), body)

    def test_a_key_made_beside_running_nodes_is_accepted_by_them(self):
        data = self.make_tempdir() + "/data"
        a = self.start_node(data, "node-a")
        b = self.start_node(data, "node-b")
        made = run_pond(["keys", "create", "--data", data, "--role", "analyst"])
        self.assertEqual(made.returncode, 0, made.stderr)
        key = made.stdout.decode().strip()
        for node in (a, b):
            deadline = time.monotonic() + 5  # unknown keys are looked up at most once a second
            while True:
                status, body, _ = node.json("GET", "/api/v1/tenants", headers={"Authorization": "Bearer " + key})
                if status == 200 or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            self.assertEqual(status, 200, body)
            status, _, _ = node.json("GET", "/api/v1/tenants", headers={"Authorization": "Bearer " + key + "x"})
            self.assertEqual(status, 401)


if __name__ == "__main__":
    unittest.main()
