"""The audit trail (CONTRACT.md "Actors and the audit trail").

Every change made by a person or a key, every reveal of whole phones and
every export is an entry committed with what it records: who (the request's
key, or the local operator), the action, its target, the request id the
answer named, and a detail. Refused requests and plain reads leave nothing.
Admins page through the entries newest first with filters; the entries
survive a restart and no API changes them.
"""

import unittest
from urllib.parse import quote

from pond_server import PondTestCase

START = "2026-03-01T09:00:00+08:00"
API = "/api/v1/tenants/shop"
PHONES = ["13900000001", "13900000002", "13900000003"]


def order(n, phone):
    return {"type": "order", "order_id": "O-%d" % n, "member": {"phone": phone}, "channel": "store",
            "store": "S01", "paid_at": "2026-02-20T12:00:00+08:00", "paid_fen": 9900,
            "items": [{"sku": "SKU-1", "qty": 1, "paid_fen": 9900}]}


class AuditTest(PondTestCase):

    def setUp(self):
        super().setUp()
        self.data = self.make_tempdir() + "/data"
        self.server = self.start_server(self.data, extra_args=["--clock", "manual@" + START])
        self.create_tenant(self.server, "shop")

    def call(self, method, path, body=None, expect=200, key=None, headers=None):
        headers = dict(headers or {})
        if key:
            headers["Authorization"] = "Bearer " + key
        status, obj, hdrs = self.server.json(method, path, body, headers)
        self.assertEqual(status, expect, "%s %s -> %s" % (method, path, obj))
        return obj, hdrs

    def make_key(self, role):
        obj, _ = self.call("POST", "/api/v1/keys", {"tenant": "shop", "role": role}, expect=201)
        return obj["id"], obj["key"]

    def audit(self, query="", key=None):
        """Every entry the query selects, paging by cursor two at a time."""
        entries, cursor = [], None
        for _ in range(100):
            page_query = query + ("&" if query else "") + "limit=2" + ("&cursor=%d" % cursor if cursor else "")
            page, _ = self.call("GET", API + "/audit?" + page_query, key=key)
            self.assertLessEqual(len(page["entries"]), 2)
            entries += page["entries"]
            cursor = page["next_cursor"]
            if cursor is None:
                return entries
        self.fail("the cursor never ended")

    def test_changes_reveals_and_exports_are_recorded_with_who_and_why(self):
        # An ingest by the local operator: one entry with its counts.
        _, hdrs = self.call("POST", API + "/events", [order(i, p) for i, p in enumerate(PHONES)])
        ingest_request = hdrs["x-request-id"]
        self.call("POST", API + "/events", [order(0, PHONES[0]), {"type": "order", "order_id": "bad"}])

        # An operator's adjustment, with a request id of the client's.
        op_id, op_key = self.make_key("operator")
        member = "phone:" + PHONES[0]
        _, hdrs = self.call("POST", API + "/members/%s/points/adjust" % member,
                            {"points": 50, "reason": "goodwill, ticket 881"}, key=op_key,
                            headers={"X-Request-Id": "ticket-881"})
        self.assertEqual(hdrs["x-request-id"], "ticket-881")
        # Refused and idempotently replayed requests change nothing and leave nothing.
        self.call("POST", API + "/members/%s/points/adjust" % member, {"points": -10**6, "reason": "x"},
                  expect=409, key=op_key)
        self.call("POST", API + "/members/%s/points/adjust" % member, {"points": 5}, expect=422, key=op_key)
        for _ in range(2):
            self.call("POST", API + "/tags", {"name": "VIP"}, expect=201, key=op_key,
                      headers={"Idempotency-Key": "tag-vip"})

        # Reads: a plain one leaves nothing, a reveal of whole phones does,
        # and the entry is there before the phone is.
        self.call("GET", API + "/members/" + member)
        shown, hdrs = self.call("GET", API + "/members/%s?reveal=phone" % member)
        self.assertEqual(shown["identities"]["phone"], [PHONES[0]])
        reveal_request = hdrs["x-request-id"]
        self.call("GET", API + "/members?reveal=phone&limit=2")

        # An export: its count and format.
        status, hdrs, _ = self.server.request("POST", API + "/segments/export", {"expr": 'tag("VIP") or orders_365d >= 1'},
                                              {"Authorization": "Bearer " + op_key})
        self.assertEqual(status, 200)
        self.assertEqual(hdrs["pond-count"], "3")

        local = {"kind": "local"}
        operator = {"kind": "key", "id": op_id}
        at = "2026-03-01T09:00:00+08:00"
        entries = self.audit()
        got = [(e["actor"], e["action"], e["target"], e["detail"]) for e in entries]
        self.assertEqual(got, [
            (operator, "segments.export", "", {"members": 3, "format": "csv", "reveal": False}),
            (local, "members.reveal", "", {"reveal": "phone", "after": 0, "limit": 2}),
            (local, "members.reveal", "member:phone:139****0001", {"reveal": "phone"}),
            (operator, "tags.create", "", {"name": "VIP"}),
            (operator, "points.adjust", "member:phone:139****0001", {"points": 50, "reason": "goodwill, ticket 881"}),
            (local, "events.ingest", "", {"accepted": 0, "duplicates": 1, "rejected": 1}),
            (local, "events.ingest", "", {"accepted": 3, "duplicates": 0, "rejected": 0}),
        ])
        ids = [e["id"] for e in entries]
        self.assertEqual(ids, sorted(ids, reverse=True), "newest first")
        self.assertEqual(len(set(ids)), len(ids), "pages neither repeat nor skip")
        self.assertEqual({e["at"] for e in entries}, {at}, "the business clock's instant, in the tenant's zone")
        by_action = {e["action"] + e["target"]: e for e in entries}
        self.assertEqual(by_action["points.adjustmember:phone:139****0001"]["request_id"], "ticket-881")
        self.assertEqual(by_action["members.revealmember:phone:139****0001"]["request_id"], reveal_request)
        self.assertEqual(entries[-1]["request_id"], ingest_request)

        # Filters: by actor, action (exact, or an area with a trailing dot),
        # target and time.
        self.assertEqual([e["action"] for e in self.audit("actor=key:" + op_id)],
                         ["segments.export", "tags.create", "points.adjust"])
        self.assertEqual([e["actor"] for e in self.audit("actor=local")], [local] * 4)
        self.assertEqual(len(self.audit("action=events.")), 2)
        self.assertEqual(len(self.audit("action=members.reveal")), 2)
        self.assertEqual(self.audit("action=members"), [], "an area needs its dot")
        self.assertEqual([e["action"] for e in self.audit("target=" + quote("member:phone:139****0001"))],
                         ["members.reveal", "points.adjust"])
        self.call("POST", "/api/v1/clock", {"advance": "P1D"})
        self.call("DELETE", API + "/tags/VIP", expect=204, key=op_key)
        later = self.audit("since=" + quote("2026-03-02T00:00:00+08:00"))
        self.assertEqual([(e["action"], e["target"], e["at"]) for e in later],
                         [("tags.delete", "tag:VIP", "2026-03-02T09:00:00+08:00")])
        self.assertEqual(len(self.audit("until=" + quote("2026-03-02T00:00:00+08:00"))), len(entries))

        # Admins only; bad queries name their field; nothing changes an entry.
        self.call("GET", API + "/audit", expect=403, key=op_key)
        _, admin_key = self.make_key("admin")
        self.assertEqual(len(self.audit(key=admin_key)), len(entries) + 1)
        for query, field in [("limit=0", "limit"), ("limit=x", "limit"), ("cursor=-1", "cursor"),
                             ("since=yesterday", "since"), ("until=2026-13-01T00:00:00Z", "until"),
                             ("who=me", "who")]:
            problem, _ = self.call("GET", API + "/audit?" + query, expect=422)
            self.assertEqual([e["field"] for e in problem["errors"]], [field], query)
        for method in ["POST", "PUT", "DELETE", "PATCH"]:
            status, _, _ = self.server.request(method, API + "/audit", {})
            self.assertEqual(status, 405, method)

        # The trail survives a restart (and a kill) whole.
        everything = self.audit()
        self.server.kill()
        self.server = self.start_server(self.data, extra_args=["--clock", "manual@2026-03-03T09:00:00+08:00"])
        self.assertEqual(self.audit(), everything)


if __name__ == "__main__":
    unittest.main()
