"""The `pond` command line: import (ndjson and CSV), demo, serve's refusal to
listen publicly without keys, and keys create with the roles it grants.
"""

import fcntl
import json
import os
import re
import selectors
import signal
import subprocess
import threading
import time
import unittest

from pond_server import PondTestCase, pg_cluster_url, pg_dump, pond_bin, run_pond

SUMMARY = re.compile(r"(\d+) accepted, (\d+) duplicates, (\d+) rejected")


def summary_of(stdout, path):
    for line in stdout.splitlines():
        if line.startswith(path + ":"):
            m = SUMMARY.search(line)
            if m:
                return tuple(int(x) for x in m.groups())
    raise AssertionError("no summary line for %s in:\n%s" % (path, stdout))


def read_all(fd):
    out = []
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            return b"".join(out)
        out.append(chunk)


def read_line(pipe, timeout):
    """The first line a child writes to `pipe`, read with a deadline."""
    deadline = time.monotonic() + timeout
    seen = b""
    with selectors.DefaultSelector() as sel:
        sel.register(pipe.fileno(), selectors.EVENT_READ)
        while b"\n" not in seen:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no line within %.0f s; got %r" % (timeout, seen))
            if sel.select(timeout=left):
                chunk = os.read(pipe.fileno(), 4096)
                if not chunk:
                    raise AssertionError("stream closed; got %r" % seen)
                seen += chunk
    return seen


def mask(phone):
    return phone[:3] + "****" + phone[-4:]


class CliTest(PondTestCase):
    def new_data_dir_with_tenant(self, tenant):
        data = os.path.join(self.make_tempdir(), "data")
        server = self.start_server(data)
        self.create_tenant(server, tenant)
        # The exit status of a stop this soon after start is racy (see
        # test_sigterm_right_after_start_exits_cleanly); the tenant is durable
        # either way, since its creation was answered.
        server.stop()
        return data

    def write(self, path, text):
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        return path

    def run_ok(self, args, expect_code=0, timeout=120):
        p = run_pond(args, timeout=timeout)
        out, err = p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
        self.assertEqual(p.returncode, expect_code, "pond %s\nstdout:\n%s\nstderr:\n%s" % (" ".join(args), out, err))
        return out, err

    # -- import --------------------------------------------------------------

    def test_import_ndjson_and_csv_then_serve(self):
        data = self.new_data_dir_with_tenant("shop")
        work = os.path.dirname(data)
        events = [
            {"type": "member", "member": {"phone": "13800000001", "unionid": "o6_a"}, "name": "王小明",
             "city": "深圳", "source": "store_qr"},
            {"type": "order", "order_id": "N-1", "member": {"phone": "13800000001"}, "channel": "store",
             "paid_at": "2026-03-04T19:20:00+08:00", "paid_fen": 6800,
             "items": [{"sku": "SKU-1", "qty": 2, "paid_fen": 6800}]},
            {"type": "order", "order_id": "N-2", "member": {"unionid": "o6_a"}, "channel": "miniprogram",
             "paid_at": "2026-03-05T19:20:00+08:00", "paid_fen": 1200},
            {"type": "refund", "refund_id": "RF-1", "order_id": "N-1", "amount_fen": 800,
             "refunded_at": "2026-03-06T10:00:00+08:00"},
            {"type": "store", "id": "S001", "name": "福田店", "city": "深圳"},
        ]
        nd = self.write(os.path.join(work, "events.ndjson"), "".join(json.dumps(e, ensure_ascii=False) + "\n"
                                                                    for e in events))
        out, _ = self.run_ok(["import", "--data", data, "--tenant", "shop", nd])
        self.assertEqual(summary_of(out, nd), (len(events), 0, 0))
        # The same file again: all duplicates, still a success.
        out, _ = self.run_ok(["import", "--data", data, "--tenant", "shop", nd])
        self.assertEqual(summary_of(out, nd), (0, len(events), 0))

        csv_rows = [
            ("order", "C-1", "13900000002", "2026-04-01T10:00:00+08:00", "3000", "store"),
            ("order", "C-2", "13900000002", "2026-04-02T10:00:00+08:00", "-5", "store"),    # rejected: line 3
            ("order", "C-3", "13800000001", "2026-04-03T10:00:00+08:00", "450", "tmall"),
            ("order", "C-4", "13900000003", "2026-04-04T10:00:00+08:00", "12.5", "store"),  # rejected: line 5
        ]
        csv = self.write(os.path.join(work, "orders.csv"),
                         "type,order_id,member.phone,paid_at,paid_fen,channel\r\n" +
                         "".join(",".join(r) + "\r\n" for r in csv_rows))
        out, _ = self.run_ok(["import", "--data", data, "--tenant", "shop", csv], expect_code=3)
        self.assertEqual(summary_of(out, csv), (2, 0, 2))
        reasons = [l for l in out.splitlines() if l.startswith("  ")]
        self.assertTrue(any("paid_fen" in l and ">= 0" in l and "line 3" in l for l in reasons), out)
        self.assertTrue(any("paid_fen" in l and "integer" in l and "line 5" in l for l in reasons), out)

        server = self.start_server(data)
        status, a, _ = server.json("GET", "/api/v1/tenants/shop/members/phone:13800000001")
        self.assertEqual(status, 200)
        self.assertEqual(a["name"], "王小明")
        self.assertEqual(a["identities"], {"phone": [mask("13800000001")], "unionid": ["o6_a"]})
        self.assertEqual(a["orders"]["count"], 3)
        self.assertEqual(a["orders"]["paid_fen"], 6800 + 1200 + 450)
        self.assertEqual(a["orders"]["net_fen"], 6800 + 1200 + 450 - 800)
        status, b, _ = server.json("GET", "/api/v1/tenants/shop/members/phone:13900000002")
        self.assertEqual((status, b["source"], b["orders"]["count"], b["orders"]["paid_fen"]), (200, "order", 1, 3000))
        self.assertEqual(server.json("GET", "/api/v1/tenants/shop/members/phone:13900000003")[0], 404)
        _, stores, _ = server.json("GET", "/api/v1/tenants/shop/stores")
        self.assertEqual([s["id"] for s in stores["stores"]], ["S001"])
        # The API agrees that imported events are known.
        status, obj, _ = server.ingest("shop", events)
        self.assertEqual(obj, {"accepted": 0, "duplicates": len(events), "rejected": []})

    def test_import_csv_with_bom_quotes_and_type_option(self):
        data = self.new_data_dir_with_tenant("csvshop")
        work = os.path.dirname(data)
        csv = self.write(os.path.join(work, "members.csv"),
                         "\ufeffmember.phone,name,city\n"
                         "13700000001,\"Wang, Xiaoming\",深圳\n"
                         "13700000002,\"say \"\"hi\"\"\",广州\n")
        out, _ = self.run_ok(["import", "--data", data, "--tenant", "csvshop", "--type", "member", csv])
        self.assertEqual(summary_of(out, csv), (2, 0, 0))
        server = self.start_server(data)
        _, m1, _ = server.json("GET", "/api/v1/tenants/csvshop/members/phone:13700000001")
        _, m2, _ = server.json("GET", "/api/v1/tenants/csvshop/members/phone:13700000002")
        self.assertEqual((m1["name"], m1["city"]), ("Wang, Xiaoming", "深圳"))
        self.assertEqual((m2["name"], m2["city"]), ('say "hi"', "广州"))

    def test_import_into_unknown_tenant_fails(self):
        data = self.new_data_dir_with_tenant("known")
        nd = self.write(os.path.join(os.path.dirname(data), "e.ndjson"),
                        json.dumps({"type": "member", "member": {"phone": "13700000003"}}) + "\n")
        _, err = self.run_ok(["import", "--data", data, "--tenant", "unknown", nd], expect_code=1)
        self.assertIn("unknown", err)
        self.assertIn("tenant", err)

    def test_import_while_server_holds_the_directory(self):
        data = self.new_data_dir_with_tenant("busy")
        nd = self.write(os.path.join(os.path.dirname(data), "e.ndjson"),
                        json.dumps({"type": "member", "member": {"phone": "13700000004"}}) + "\n")
        server = self.start_server(data)
        _, err = self.run_ok(["import", "--data", data, "--tenant", "busy", nd], expect_code=1)
        if pg_cluster_url():
            # On PostgreSQL the server holds the tenant's lease, not the
            # directory: the import is sent to the node that serves it, and
            # keys may be made beside running nodes.
            self.assertIn("served by node", err)
            self.assertIn("127.0.0.1:%d" % server.port, err)
        else:
            self.assertIn("in use", err)
            self.assertIn(data, err)
            # Keys touch only the catalog: they are made beside the server.
            out, _ = self.run_ok(["keys", "create", "--data", data, "--role", "analyst"])
            self.assertTrue(out.strip().startswith("pond_"), out)
        # Nothing was imported behind the server's back, and it still serves.
        self.assert_healthy(server)
        self.assertEqual(server.json("GET", "/api/v1/tenants/busy/members/phone:13700000004")[0], 404)
        server.stop()
        # Once the server is gone the directory is free.
        out, _ = self.run_ok(["import", "--data", data, "--tenant", "busy", nd])
        self.assertEqual(summary_of(out, nd), (1, 0, 0))

    # -- demo ----------------------------------------------------------------

    def test_demo_is_deterministic_and_its_ndjson_imports_the_same(self):
        args = ["--tenant", "demo", "--members", "2000", "--seed", "7", "--end", "2026-11-01T00:00:00+08:00"]
        dirs, outs = [], []
        # Once loaded directly, once written as ndjson and imported.
        data = os.path.join(self.make_tempdir(), "data")
        out, _ = self.run_ok(["demo", "--data", data] + args, timeout=240)
        dirs.append(data)
        outs.append(out)
        path = os.path.join(self.make_tempdir(), "demo.ndjson")
        out, _ = self.run_ok(["demo", "--ndjson", path] + args, timeout=240)
        outs.append(out)
        data = self.new_data_dir_with_tenant("demo")
        imported, _ = self.run_ok(["import", "--data", data, "--tenant", "demo", path], timeout=240)
        self.assertIn(" 0 rejected", imported)
        dirs.append(data)
        # "N members, N orders, N refunds" is the same both times.
        counts = [re.search(r"(\d+) members, (\d+) orders, (\d+) refunds", o) for o in outs]
        self.assertTrue(all(counts), outs)
        self.assertEqual(counts[0].groups(), counts[1].groups())
        self.assertEqual(int(counts[0].group(1)), 2000)

        snapshots = []
        for data in dirs:
            server = self.start_server(data)
            snap = {}
            _, summary, _ = server.json("GET", "/api/v1/tenants/demo")
            snap["counts"] = summary["counts"]
            for ref in ("1", "2", "77", "500", "1234", "2000"):
                status, m, _ = server.json("GET", "/api/v1/tenants/demo/members/" + ref)
                self.assertEqual(status, 200, ref)
                snap[ref] = m
            for kind in ("stores", "staff", "products", "categories"):
                snap[kind] = server.json("GET", "/api/v1/tenants/demo/" + kind)[1]
            snap["page"] = server.json("GET", "/api/v1/tenants/demo/members?limit=50&after=100")[1]
            server.stop()
            snapshots.append(snap)
        # `created_at` (and a merge's `at`) is when this Pond learnt of the
        # member, i.e. the wall clock of the demo run; everything else must
        # come from (seed, members, end) alone.
        for snap in snapshots:
            for key, value in snap.items():
                for m in [value] if key.isdigit() else value.get("members", []) if key == "page" else []:
                    self.assertRegex(m.pop("created_at"), r"^\d{4}-\d\d-\d\dT")
                    for merge in m["merges"]:
                        merge.pop("at")
        self.assertGreater(snapshots[0]["counts"]["orders"], 0)
        self.assertTrue(any(m["orders"]["count"] > 0 for m in snapshots[0]["page"]["members"]))
        self.assertEqual(snapshots[0]["counts"]["members"] + snapshots[0]["counts"]["merged_members"], 2000)
        self.assertEqual(snapshots[0], snapshots[1])

    # -- serve and keys ------------------------------------------------------

    def test_bad_store_options_are_refused_naming_the_option(self):
        # No --data: nothing is opened before the options are checked.
        cases = [
            (["serve", "--node", "a"], "--node"),
            (["serve", "--advertise", "http://10.0.0.1:8080"], "--advertise"),
            (["serve", "--store", "postgresql://pond@127.0.0.1:1/x", "--advertise", "10.0.0.1:8080"], "--advertise"),
            (["serve", "--store", "mysql://pond@127.0.0.1/x"], "--store"),
            (["import", "--store", "sqlite:x", "--tenant", "t", os.devnull], "--store"),
            (["serve", "--store", "postgresql://pond@127.0.0.1:1/x", "--lease-ttl", "0"], "--lease-ttl"),
        ]
        for args, option in cases:
            _, err = self.run_ok(args, expect_code=105 if option == "--lease-ttl" else 1)
            self.assertIn(option, err, args)
        # A server that is not there: a clear error, not a hang or a crash.
        _, err = self.run_ok(["serve", "--store", "postgresql://pond@127.0.0.1:1/x?connect_timeout=2",
                              "--listen", "127.0.0.1:0"], expect_code=1, timeout=30)
        self.assertIn("connect to PostgreSQL", err)
        self.assertIn("127.0.0.1", err)

    def test_serve_on_public_address_needs_keys(self):
        data = os.path.join(self.make_tempdir(), "data")
        p = run_pond(["serve", "--data", data, "--listen", "0.0.0.0:0"], timeout=30)
        err = p.stderr.decode("utf-8", "replace")
        self.assertNotEqual(p.returncode, 0)
        self.assertNotIn(b"listening", p.stdout)
        self.assertIn("keys", err)
        self.assertIn("keys create", err)

    def test_sigterm_with_a_slow_log_reader_stops_cleanly(self):
        # The data path is long so that the "serving" log line (which names
        # it) does not fit in what is left of a one-page stderr pipe, while
        # the shorter lines logged before the address is printed do.
        data = os.path.join(self.make_tempdir(), "d" * 200, "data")
        room = 320
        log_r, log_w = os.pipe()
        try:
            fcntl.fcntl(log_w, fcntl.F_SETPIPE_SZ, 4096)
            capacity = fcntl.fcntl(log_w, fcntl.F_GETPIPE_SZ)
            os.write(log_w, b"#" * (capacity - room))
            proc = subprocess.Popen([pond_bin(), "serve", "--data", data, "--listen", "127.0.0.1:0"],
                                    stdout=subprocess.PIPE, stderr=log_w, stdin=subprocess.DEVNULL)
        finally:
            os.close(log_w)
        log = []
        drain = threading.Thread(target=lambda: log.append(read_all(log_r)), daemon=True)
        try:
            line = read_line(proc.stdout, timeout=30)
            self.assertIn(b"pond listening on http://127.0.0.1:", line)
            proc.send_signal(signal.SIGTERM)  # the main thread is still logging "serving"
            drain.start()                      # now let the log flow
            code = proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
            proc.stdout.close()
            if drain.is_alive() or drain.ident:
                drain.join(timeout=30)
            os.close(log_r)
        text = b"".join(log).decode("utf-8", "replace")
        self.assertEqual(code, 0, "pond serve exited with %s on SIGTERM; log:\n%s" % (code, text[-2000:]))
        self.assertIn('"msg":"stopping"', text)

    def test_keys_and_roles(self):
        data = self.new_data_dir_with_tenant("keyed")
        out, _ = self.run_ok(["keys", "create", "--data", data, "--role", "analyst", "--tenant", "keyed"])
        key = out.strip()
        self.assertRegex(key, r"^\S{20,}$")
        out2, _ = self.run_ok(["keys", "create", "--data", data, "--role", "operator", "--tenant", "keyed"])
        operator = out2.strip()
        self.assertNotEqual(key, operator)
        out3, _ = self.run_ok(["keys", "create", "--data", data, "--role", "integration", "--tenant", "keyed"])
        system = {"Authorization": "Bearer " + out3.strip()}
        # Keys are stored hashed: the secret is nowhere in the store. Under
        # PostgreSQL the data directory holds no data, so its database's dump
        # is searched instead.
        if pg_cluster_url():
            self.assertNotIn(key.encode(), pg_dump(data))
        else:
            for root, _, files in os.walk(data):
                for name in files:
                    with open(os.path.join(root, name), "rb") as f:
                        self.assertNotIn(key.encode(), f.read(), name)

        server = self.start_server(data)
        events = "/api/v1/tenants/keyed/events"
        order = json.dumps({"type": "order", "order_id": "K-1", "member": {"phone": "13600000001"},
                            "paid_at": "2026-03-04T19:20:00+08:00", "paid_fen": 100}) + "\n"
        nd = {"Content-Type": "application/x-ndjson"}
        # Loopback without a key is still admin.
        status, obj, _ = server.json("POST", events, order, nd)
        self.assertEqual((status, obj["accepted"]), (200, 1))
        member = "/api/v1/tenants/keyed/members/phone:13600000001"
        self.assertEqual(server.json("GET", member)[0], 200)

        bearer = {"Authorization": "Bearer " + key}
        status, m, _ = server.json("GET", member, headers=bearer)
        self.assertEqual(status, 200, m)
        self.assertEqual(m["orders"]["paid_fen"], 100)
        # An analyst may not see the phone number, even when asking.
        status, m, _ = server.json("GET", member + "?reveal=phone", headers=bearer)
        self.assertEqual(m["identities"]["phone"], [mask("13600000001")])
        self.assertEqual(server.json("GET", "/api/v1/tenants/keyed/members?limit=5", headers=bearer)[0], 200)

        order2 = order.replace("K-1", "K-2")
        status, hdrs, raw = server.request("POST", events, order2, dict(nd, **bearer))
        self.assertEqual(status, 403, raw)
        self.assertEqual(hdrs["content-type"], "application/problem+json")
        status, _, raw = server.request("POST", "/api/v1/tenants", {"id": "other"}, bearer)
        self.assertEqual(status, 403, raw)

        for bad in ("Bearer pond_000000000000_" + "0" * 36, "Bearer " + key + "x", "Basic " + key):
            status, hdrs, raw = server.request("GET", member, headers={"Authorization": bad})
            self.assertEqual(status, 401, (bad, raw))
            self.assertEqual(hdrs.get("www-authenticate"), "Bearer")

        # The operator key writes; nothing the refused requests sent was applied.
        status, obj, _ = server.json("POST", events, order2, dict(nd, Authorization="Bearer " + operator))
        self.assertEqual((status, obj["accepted"]), (200, 1))
        status, m, _ = server.json("GET", member, headers=bearer)
        self.assertEqual((m["orders"]["count"], m["orders"]["paid_fen"]), (2, 200))
        self.assertEqual(server.json("GET", "/api/v1/tenants/other")[0], 404)

        # Adjusting points is a person's action: an operator may, a system
        # (integration) key may redeem but not adjust.
        adjust = member + "/points/adjust"
        status, _, raw = server.request("POST", adjust, {"points": 5, "reason": "goodwill"}, system)
        self.assertEqual(status, 403, raw)
        status, obj, _ = server.json("POST", adjust, {"points": 5, "reason": "goodwill"},
                                     {"Authorization": "Bearer " + operator})
        self.assertEqual((status, obj["balance"]), (200, 2 + 5), obj)  # 2 points from 2 yuan of orders
        status, obj, _ = server.json("POST", member + "/points/redeem", {"points": 3, "redemption_id": "POS-1"}, system)
        self.assertEqual((status, obj["balance"]), (200, 4), obj)
        # /healthz and /metrics need no key.
        self.assertEqual(server.request("GET", "/metrics")[0], 200)


if __name__ == "__main__":
    unittest.main()
