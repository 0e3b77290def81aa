"""Upgrade: a store written by an old pond loads in the pond under test and answers the same.

Each fixture in upgrade/fixture-<commit>/ (upgrade/README.md) was made once
by the old binary of that commit, with upgrade/make_fixture.py: a demo
tenant changed through the API until its store holds rows of every kind
that binary kept (members and merges, orders, refunds, the loyalty journal,
settings, master data, idempotency answers, tag operations, snapshots,
coupon and activity events), and what that binary answered on it. This
test guards the migration from such a store to the current layout:

- the old store is copied into a temp dir (SQLite), or its pg_dump loaded
  into a fresh database (PostgreSQL, under POND_TEST_PG_URL_FILE);
- the pond under test (POND_BIN) serves it with its business clock standing
  at the instant the answers were recorded (`--clock manual@...`), so
  everything that follows from "now" (lifecycle days, coupon expiry,
  activity windows) is as it was;
- every recorded request is sent again and must be answered exactly as
  recorded (status and body; the few volatile fields named in meta.json,
  such as `took_ms`, are left out);
- every recorded idempotent POST, sent again with its key and body, gets
  its first answer back: the stored answers came through the migration;
- a new order for a merged member, and a restart: the migrated store takes
  new writes and loads them again.

POND_UPGRADE_NO_CLOCK=1 leaves `--clock` out, for running this against the
old binary itself (which has no such flag) on the day the fixture was
made. POND_UPGRADE_FIXTURE=DIR tests one fixture directory instead of every
upgrade/fixture-*.
"""

import datetime
import glob
import json
import os
import re
import shutil
import subprocess
import time
import unittest

from pond_server import PondTestCase, pg_cluster_url, store_url

HERE = os.path.dirname(os.path.abspath(__file__))
READY_TIMEOUT = 60.0
PSQL_TIMEOUT = 120


def fixture_dirs():
    one = os.environ.get("POND_UPGRADE_FIXTURE")
    if one:
        return [os.path.abspath(one)]
    return sorted(glob.glob(os.path.join(HERE, "upgrade", "fixture-*")))


class Fixture:
    """One fixture directory, seen from the backend under test."""

    def __init__(self, path):
        self.path = path
        self.name = os.path.basename(path)
        with open(os.path.join(path, "meta.json"), encoding="utf-8") as f:
            self.meta = json.load(f)
        self.pg = pg_cluster_url() is not None
        # On PostgreSQL the answers are those of the same steps run on a
        # PostgreSQL store: coupon codes and write instants differ by nature.
        side = self.meta["postgresql"] if self.pg else self.meta
        self.clock = side["clock"]
        self.idempotent = side["idempotent"]
        self.volatile = self.meta["volatile"]
        self.made = self.meta["made"]
        self.tenant = self.meta["tenant"]
        with open(os.path.join(path, side.get("answers", "answers.json")), encoding="utf-8") as f:
            self.answers = json.load(f)

    def strip(self, method, path, body):
        """BODY without the volatile fields of its route (meta.json "volatile")."""
        route = "%s %s" % (method, path.split("?")[0])
        for v in self.volatile:
            if isinstance(body, (dict, list)) and re.fullmatch(v["route"], route):
                _delete(body, v["field"].split("."))
        return body


def _delete(obj, keys):
    if keys[0] == "*":
        for x in obj if isinstance(obj, list) else []:
            _delete(x, keys[1:])
    elif isinstance(obj, dict) and keys[0] in obj:
        if len(keys) == 1:
            del obj[keys[0]]
        else:
            _delete(obj[keys[0]], keys[1:])


def first_difference(want, got, where="body"):
    """(path, wanted, got) of the first place where GOT differs from WANT, or None."""
    if isinstance(want, dict) and isinstance(got, dict):
        for k in list(want) + [k for k in got if k not in want]:
            if k not in want or k not in got:
                return ("%s.%s" % (where, k), want.get(k, "<absent>"), got.get(k, "<absent>"))
            d = first_difference(want[k], got[k], "%s.%s" % (where, k))
            if d:
                return d
        return None
    if isinstance(want, list) and isinstance(got, list):
        for i in range(min(len(want), len(got))):
            d = first_difference(want[i], got[i], "%s[%d]" % (where, i))
            if d:
                return d
        if len(want) != len(got):
            return ("%s (length)" % where, len(want), len(got))
        return None
    if type(want) is not type(got) or want != got:
        return (where, want, got)
    return None


class UpgradeTest(PondTestCase):
    def serve(self, fixture):
        """The pond under test on a fresh copy of FIXTURE's store, its tenant loaded."""
        data = os.path.join(self.make_tempdir(), "data")
        if fixture.pg:
            url = store_url(data)  # a fresh, empty database of this dir's own
            p = subprocess.run(["psql", url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f",
                                os.path.join(fixture.path, "pg.sql")],
                               capture_output=True, timeout=PSQL_TIMEOUT, stdin=subprocess.DEVNULL)
            self.assertEqual(p.returncode, 0, p.stderr.decode("utf-8", "replace"))
        else:
            shutil.copytree(os.path.join(fixture.path, "data"), data)
        extra = [] if os.environ.get("POND_UPGRADE_NO_CLOCK") else ["--clock", "manual@" + fixture.clock]
        server = self.start_server(data, extra_args=extra)
        self.wait_loaded(server, fixture)
        return server

    def wait_loaded(self, server, fixture):
        """Until /healthz is ok and the tenant answers: 503 with Retry-After while it loads (api.md)."""
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            self.assertTrue(server.alive(), "pond serve exited")
            status, obj, _ = server.json("GET", "/healthz")
            if status == 200:
                status, obj, _ = server.json("GET", "/api/v1/tenants/" + fixture.tenant)
                if status == 200:
                    return
            self.assertIn(status, (200, 503), obj)
            if time.monotonic() > deadline:
                self.fail("the tenant was not loaded within %.0f s: %s %s" % (READY_TIMEOUT, status, obj))
            time.sleep(0.05)

    def fixtures(self):
        found = fixture_dirs()
        self.assertTrue(found, "no upgrade fixture under %s" % os.path.join(HERE, "upgrade"))
        return [Fixture(path) for path in found]

    def test_every_recorded_request_is_answered_as_recorded(self):
        for fixture in self.fixtures():
            with self.subTest(fixture=fixture.name):
                self.check_answers(fixture)

    def test_idempotent_posts_replay_their_first_answers(self):
        for fixture in self.fixtures():
            with self.subTest(fixture=fixture.name):
                self.check_replays(fixture)

    def test_the_migrated_store_takes_new_writes(self):
        for fixture in self.fixtures():
            with self.subTest(fixture=fixture.name):
                self.check_new_writes(fixture)

    def check_answers(self, fixture):
        server = self.serve(fixture)
        wrong = []
        for n, rec in enumerate(fixture.answers):
            method, path = rec["method"], rec["path"]
            body = json.dumps(rec["request"], ensure_ascii=False) if "request" in rec else None
            status, headers, data = server.request(method, path, body,
                                                   {"Content-Type": "application/json"} if body else None)
            got = {"status": status}
            if "text" in rec:
                want = {"status": rec["status"], "text": rec["text"]}
                got["text"] = data.decode("utf-8")
            else:
                want = {"status": rec["status"], "body": rec["body"]}
                try:
                    got["body"] = fixture.strip(method, path, json.loads(data.decode("utf-8")) if data else None)
                except ValueError:
                    got["body"] = data.decode("utf-8", "replace")
            diff = first_difference(want, got, "answer")
            if diff:
                wrong.append("answer %d, %s %s%s: %s differs: recorded %s, now %s" % (
                    n, method, path, " " + body if body else "", diff[0],
                    json.dumps(diff[1], ensure_ascii=False)[:300], json.dumps(diff[2], ensure_ascii=False)[:300]))
        server.stop()
        if wrong:
            self.fail("%s: %d of %d answers differ from what %s answered:\n  %s" % (
                fixture.name, len(wrong), len(fixture.answers), fixture.meta["commit"][:7], "\n  ".join(wrong[:30])))

    def check_replays(self, fixture):
        server = self.serve(fixture)
        self.assertTrue(fixture.idempotent, "the fixture recorded no idempotent request")
        for rec in fixture.idempotent:
            status, headers, data = server.request(
                rec["method"], rec["path"], rec["request"],
                {"Content-Type": rec["content_type"], "Idempotency-Key": rec["key"]})
            body = json.loads(data.decode("utf-8")) if data else None
            where = "%s: %s %s (Idempotency-Key %s)" % (fixture.name, rec["method"], rec["path"], rec["key"])
            self.assertEqual(headers.get("idempotent-replayed"), "true",
                             "%s was not replayed: %s %s" % (where, status, body))
            diff = first_difference({"status": rec["status"], "body": rec["body"]},
                                    {"status": status, "body": body}, "answer")
            self.assertIsNone(diff, "%s: %s differs from the first answer" % (where, diff))
        server.stop()

    def check_new_writes(self, fixture):
        server = self.serve(fixture)
        api = "/api/v1/tenants/" + fixture.tenant
        # B was merged into A by an order: a new order for B's number lands on A.
        merged, survivor = fixture.made["picked"]["B"], fixture.made["picked"]["A"]
        status, before, _ = server.json("GET", "%s/members/%d" % (api, merged))
        self.assertEqual((status, before["member_id"]), (200, survivor), before)
        paid_at = (datetime.datetime.fromisoformat(fixture.clock) - datetime.timedelta(hours=1)).isoformat()
        order = {"type": "order", "order_id": "UPGRADE-NEW-1", "member": {"member_id": merged}, "channel": "store",
                 "store": "S900", "payment": "cash", "paid_at": paid_at, "paid_fen": 12345,
                 "items": [{"sku": "SKU-FX-1", "qty": 1, "paid_fen": 12345}]}
        status, obj, _ = server.ingest(fixture.tenant, [order])
        self.assertEqual((status, obj["accepted"]), (200, 1), obj)
        status, after, _ = server.json("GET", "%s/members/%d" % (api, merged))
        self.assertEqual((after["orders"]["count"], after["orders"]["net_fen"], after["orders"]["last_paid_at"]),
                         (before["orders"]["count"] + 1, before["orders"]["net_fen"] + 12345, paid_at), after)
        status, loyalty, _ = server.json("GET", "%s/members/%d/loyalty" % (api, survivor))
        self.assertEqual((loyalty["ledger"][0]["kind"], loyalty["ledger"][0].get("order_id")),
                         ("earn", "UPGRADE-NEW-1"), loyalty["ledger"][:2])
        _, tenant, _ = server.json("GET", api)

        server.restart()
        self.wait_loaded(server, fixture)
        self.assertEqual(server.json("GET", "%s/members/%d" % (api, merged))[1], after, "after a restart")
        self.assertEqual(server.json("GET", "%s/members/%d/loyalty" % (api, survivor))[1], loyalty,
                         "after a restart")
        self.assertEqual(server.json("GET", api)[1], tenant, "after a restart")
        status, obj, _ = server.ingest(fixture.tenant, [order])
        self.assertEqual((status, obj["accepted"], obj["duplicates"]), (200, 0, 1), "the order is known: %s" % obj)
        server.stop()


if __name__ == "__main__":
    unittest.main()
