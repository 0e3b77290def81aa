"""End-to-end tests of the HTTP API against a running `pond serve`.

Each test uses its own tenant on one shared server (so tests do not depend on
each other's order); the restart test runs its own server. Expected values are
computed from the events each test sends.
"""

import json
import os
import unittest
from urllib.parse import quote, urlencode

from pond_server import PondTestCase, SharedServerTestCase


def mask(phone):
    return phone[:3] + "****" + phone[-4:]


def order(order_id, member, paid_fen, paid_at, items=None, **extra):
    e = {"type": "order", "order_id": order_id, "member": member, "channel": "store",
         "paid_at": paid_at, "paid_fen": paid_fen}
    if items is not None:
        e["items"] = items
    e.update(extra)
    return e


def refund(refund_id, order_id, amount_fen, refunded_at):
    return {"type": "refund", "refund_id": refund_id, "order_id": order_id, "amount_fen": amount_fen,
            "refunded_at": refunded_at}


def member(identities, **profile):
    e = {"type": "member", "member": identities}
    e.update(profile)
    return e


class ApiTestBase(SharedServerTestCase):
    temp_prefix = "pond-e2e-api-"

    def get_member(self, tenant, ref, expect=200):
        status, obj, _ = self.server.json("GET", "/api/v1/tenants/%s/members/%s" % (tenant, quote(str(ref), safe=":")))
        self.assertEqual(status, expect, obj)
        return obj

    def ingest_ok(self, tenant, events, accepted, duplicates=0, as_array=False, server=None):
        status, obj, _ = (server or self.server).ingest(tenant, events, as_array=as_array)
        self.assertEqual(status, 200, obj)
        self.assertEqual(obj, {"accepted": accepted, "duplicates": duplicates, "rejected": []})
        return obj


class EventsAndMembersTest(ApiTestBase):
    ALICE = {"phone": "13800000001", "unionid": "o6_alice"}
    BOB = {"external_userid": "wm_bob", "pos_id": "100023"}

    def load(self, tenant):
        self.create_tenant(self.server, tenant)
        batch1 = [
            member(self.ALICE, name="王小明", gender="female", birthday="1995-11-22", city="深圳", home_store="S001",
                   source="store_qr", registered_at="2026-01-02T10:00:00+08:00"),
            member(self.BOB, name="Bob", gender="male", city="广州", source="wecom"),
            order("O-1", {"phone": "13800000001"}, 6800, "2026-03-04T19:20:00+08:00",
                  items=[{"sku": "SKU-1", "category": "food", "qty": 2, "paid_fen": 3400},
                         {"sku": "SKU-2", "category": "toys", "qty": 1, "paid_fen": 3400}]),
            order("O-2", {"pos_id": "100023"}, 1200, "2026-03-05T12:00:00+08:00"),
        ]
        self.ingest_ok(tenant, batch1, accepted=4)  # ndjson
        batch2 = [
            order("O-3", {"unionid": "o6_alice"}, 2000, "2026-03-06T09:30:00+08:00"),
            refund("RF-1", "O-1", 3400, "2026-03-07T10:00:00+08:00"),
            member({"phone": "13800000001"}),  # nothing new about Alice: a duplicate
        ]
        self.ingest_ok(tenant, batch2, accepted=2, duplicates=1, as_array=True)
        return batch1, batch2

    def test_every_ref_form_answers_the_same_member(self):
        t = "refs"
        self.load(t)
        alice = self.get_member(t, "phone:13800000001")
        self.assertEqual(alice["identities"], {"phone": [mask("13800000001")], "unionid": ["o6_alice"]})
        self.assertEqual(alice["name"], "王小明")
        self.assertEqual(alice["gender"], "female")
        self.assertEqual(alice["birthday"], "1995-11-22")
        self.assertEqual(alice["city"], "深圳")
        self.assertEqual(alice["home_store"], "S001")
        self.assertEqual(alice["source"], "store_qr")
        self.assertEqual(alice["registered_at"], "2026-01-02T10:00:00+08:00")
        self.assertEqual(alice["orders"], {"count": 2, "paid_fen": 6800 + 2000, "refunded_fen": 3400,
                                           "net_fen": 6800 + 2000 - 3400,
                                           "last_paid_at": "2026-03-06T09:30:00+08:00"})
        self.assertEqual(alice["merges"], [])
        self.assertEqual(self.get_member(t, alice["member_id"]), alice)
        self.assertEqual(self.get_member(t, "unionid:o6_alice"), alice)

        bob = self.get_member(t, "ext:wm_bob")
        self.assertNotEqual(bob["member_id"], alice["member_id"])
        self.assertEqual(bob["identities"], {"external_userid": ["wm_bob"], "pos_id": ["100023"]})
        self.assertEqual(bob["orders"]["count"], 1)
        self.assertEqual(bob["orders"]["paid_fen"], 1200)
        self.assertEqual(bob["orders"]["net_fen"], 1200)
        self.assertEqual(self.get_member(t, "pos:100023"), bob)
        self.assertEqual(self.get_member(t, "external_userid:wm_bob"), bob)
        self.assertEqual(self.get_member(t, bob["member_id"]), bob)

    def test_phone_is_masked_unless_revealed(self):
        t = "masking"
        self.load(t)
        status, _, raw = self.server.request("GET", "/api/v1/tenants/%s/members/phone:13800000001" % t)
        self.assertEqual(status, 200)
        self.assertNotIn(b"13800000001", raw)
        self.assertIn("138****0001".encode(), raw)
        # Loopback without a key acts as admin, who may ask to see the number.
        status, obj, _ = self.server.json("GET", "/api/v1/tenants/%s/members/phone:13800000001?reveal=phone" % t)
        self.assertEqual(status, 200, obj)
        self.assertEqual(obj["identities"]["phone"], ["13800000001"])

    def test_unknown_member_is_404(self):
        t = "unknown-member"
        self.load(t)
        for ref in ("phone:13999999999", "unionid:nobody", "ext:nobody", "pos:nobody", "999999"):
            status, obj, hdrs = self.server.json("GET", "/api/v1/tenants/%s/members/%s" % (t, ref))
            self.assertEqual(status, 404, ref)
            self.assertEqual(hdrs["content-type"], "application/problem+json")
            self.assertEqual(obj["status"], 404)
        status, obj, _ = self.server.json("GET", "/api/v1/tenants/%s/members/fax:123" % t)
        self.assertEqual(status, 422, obj)
        self.assertEqual([e["field"] for e in obj["errors"]], ["ref"])

    def test_duplicates_change_nothing(self):
        t = "dups"
        batch1, batch2 = self.load(t)
        before = self.get_member(t, "phone:13800000001")
        # The same order_id again, even with other amounts, is a duplicate.
        again = order("O-1", {"phone": "13800000001"}, 99900, "2026-04-01T10:00:00+08:00")
        self.ingest_ok(t, [again], accepted=0, duplicates=1)
        # Whole batches again: every line a duplicate.
        self.ingest_ok(t, batch1, accepted=0, duplicates=len(batch1))
        self.ingest_ok(t, batch2, accepted=0, duplicates=len(batch2), as_array=True)
        self.assertEqual(self.get_member(t, "phone:13800000001"), before)
        status, summary, _ = self.server.json("GET", "/api/v1/tenants/%s" % t)
        self.assertEqual(status, 200)
        self.assertEqual(summary["counts"]["members"], 2)
        self.assertEqual(summary["counts"]["orders"], 3)
        self.assertEqual(summary["counts"]["refunds"], 1)

    def test_order_for_unknown_identity_creates_member(self):
        t = "order-creates"
        self.create_tenant(self.server, t)
        paid_at = "2026-05-01T08:00:00+08:00"
        self.ingest_ok(t, [order("N-1", {"phone": "13900000009"}, 4500, paid_at)], accepted=1)
        m = self.get_member(t, "phone:13900000009")
        self.assertEqual(m["source"], "order")
        self.assertEqual(m["identities"], {"phone": [mask("13900000009")]})
        self.assertEqual(m["orders"]["count"], 1)
        self.assertEqual(m["orders"]["paid_fen"], 4500)
        self.assertEqual(m["orders"]["last_paid_at"], paid_at)
        # A later order on the same identity lands on the same member.
        self.ingest_ok(t, [order("N-2", {"phone": "+8613900000009"}, 500, "2026-05-02T08:00:00+08:00")], accepted=1)
        again = self.get_member(t, "phone:13900000009")
        self.assertEqual(again["member_id"], m["member_id"])
        self.assertEqual(again["orders"]["count"], 2)
        self.assertEqual(again["orders"]["paid_fen"], 5000)

    def test_member_event_with_two_members_identities_merges_them(self):
        t = "merge"
        self.create_tenant(self.server, t)
        # The older member is known by unionid, the newer by phone; the
        # merging event names the phone first, but the older one survives.
        self.ingest_ok(t, [member({"unionid": "o6_old"}, city="杭州"),
                           member({"phone": "13700000007"}, name="李雷", gender="male")], accepted=2)
        old = self.get_member(t, "unionid:o6_old")
        new = self.get_member(t, "phone:13700000007")
        self.assertLess(old["member_id"], new["member_id"])
        self.ingest_ok(t, [order("M-1", {"unionid": "o6_old"}, 700, "2026-02-01T10:00:00+08:00"),
                           order("M-2", {"phone": "13700000007"}, 500, "2026-02-03T10:00:00+08:00")], accepted=2)

        self.ingest_ok(t, [member({"phone": "13700000007", "unionid": "o6_old"})], accepted=1)

        survivor = self.get_member(t, "unionid:o6_old")
        self.assertEqual(survivor["member_id"], old["member_id"])
        self.assertEqual(self.get_member(t, "phone:13700000007"), survivor)
        self.assertEqual(survivor["identities"], {"phone": [mask("13700000007")], "unionid": ["o6_old"]})
        self.assertEqual(len(survivor["merges"]), 1)
        merge = survivor["merges"][0]
        self.assertEqual(merge["merged_member_id"], new["member_id"])
        self.assertTrue(merge["at"])
        self.assertTrue(merge["reason"])
        # The survivor keeps what it knew and learns what only the merged knew.
        self.assertEqual(survivor["city"], "杭州")
        self.assertEqual(survivor["name"], "李雷")
        self.assertEqual(survivor["gender"], "male")
        # Orders of both are now the survivor's.
        self.assertEqual(survivor["orders"]["count"], 2)
        self.assertEqual(survivor["orders"]["paid_fen"], 1200)
        self.assertEqual(survivor["orders"]["last_paid_at"], "2026-02-03T10:00:00+08:00")

        # The merged number answers the survivor and says which was asked for.
        by_old_number = self.get_member(t, new["member_id"])
        self.assertEqual(by_old_number["merged_member_id"], new["member_id"])
        self.assertEqual({k: v for k, v in by_old_number.items() if k != "merged_member_id"}, survivor)

        # The merged member is gone from the list and the counts.
        status, page, _ = self.server.json("GET", "/api/v1/tenants/%s/members?limit=100" % t)
        self.assertEqual(status, 200)
        self.assertEqual([m["member_id"] for m in page["members"]], [old["member_id"]])
        _, summary, _ = self.server.json("GET", "/api/v1/tenants/%s" % t)
        self.assertEqual(summary["counts"]["members"], 1)
        self.assertEqual(summary["counts"]["merged_members"], 1)

        # The same merging event again changes nothing.
        self.ingest_ok(t, [member({"phone": "13700000007", "unionid": "o6_old"})], accepted=0, duplicates=1)
        self.assertEqual(self.get_member(t, "unionid:o6_old"), survivor)

    def test_retrying_a_batch_with_a_merge_changes_nothing(self):
        t = "retry-merge"
        self.create_tenant(self.server, t)
        batch = [member({"external_userid": "wm_b"}, city="广州"),
                 member({"pos_id": "P-3"}, city="深圳"),
                 member({"external_userid": "wm_b", "pos_id": "P-3"})]
        self.ingest_ok(t, batch, accepted=3)
        first = self.get_member(t, "ext:wm_b")
        self.assertEqual(first["city"], "广州")  # the survivor keeps what it knew
        self.ingest_ok(t, batch, accepted=0, duplicates=3)  # the client's retry
        self.assertEqual(self.get_member(t, "ext:wm_b"), first)

    def test_refunds_reduce_net(self):
        t = "refunds"
        self.create_tenant(self.server, t)
        who = {"phone": "13600000006"}
        self.ingest_ok(t, [order("R-1", who, 10000, "2026-03-01T10:00:00+08:00"),
                           order("R-2", who, 3000, "2026-03-02T10:00:00+08:00")], accepted=2)
        self.ingest_ok(t, [refund("RF-1", "R-1", 2500, "2026-03-03T10:00:00+08:00"),
                           refund("RF-2", "R-1", 2500, "2026-03-04T10:00:00+08:00"),
                           refund("RF-3", "R-2", 3000, "2026-03-04T11:00:00+08:00")], accepted=3)
        m = self.get_member(t, "phone:13600000006")
        self.assertEqual(m["orders"]["count"], 2)
        self.assertEqual(m["orders"]["paid_fen"], 13000)
        self.assertEqual(m["orders"]["refunded_fen"], 2500 + 2500 + 3000)
        self.assertEqual(m["orders"]["net_fen"], 13000 - 8000)
        # A refund id seen before is a duplicate, not a second refund.
        self.ingest_ok(t, [refund("RF-1", "R-1", 2500, "2026-03-05T10:00:00+08:00")], accepted=0, duplicates=1)
        self.assertEqual(self.get_member(t, "phone:13600000006"), m)
        # What is left on R-1 (5000) can still be refunded, exactly.
        self.ingest_ok(t, [refund("RF-4", "R-1", 5000, "2026-03-06T10:00:00+08:00")], accepted=1)
        self.assertEqual(self.get_member(t, "phone:13600000006")["orders"]["net_fen"], 0)


class MemberListTest(ApiTestBase):
    PEOPLE = [
        # (phone, city, gender, source, orders)
        ("13500000001", "深圳", "female", "store_qr", 1),
        ("13500000002", "广州", "male", "wecom", 0),
        ("13500000003", "深圳", "male", "store_qr", 2),
        ("13500000004", "上海", "female", "miniprogram", 0),
        ("13500000005", "深圳", "female", "wecom", 0),
        ("13500000006", "广州", "female", "store_qr", 3),
        ("13500000007", "深圳", "male", "miniprogram", 1),
    ]

    def setUp(self):
        self.t = "list"
        if getattr(type(self), "_loaded", False):
            return
        self.create_tenant(self.server, self.t)
        events = [member({"phone": p}, city=c, gender=g, source=s) for p, c, g, s, _ in self.PEOPLE]
        n = 0
        for p, _, _, _, k in self.PEOPLE:
            for i in range(k):
                n += 1
                events.append(order("L-%d" % n, {"phone": p}, 100 * n, "2026-06-%02dT10:00:00+08:00" % n))
        self.ingest_ok(self.t, events, accepted=len(events))
        type(self)._loaded = True

    def list(self, **query):
        status, obj, _ = self.server.json("GET", "/api/v1/tenants/%s/members?%s" % (self.t, urlencode(query)))
        self.assertEqual(status, 200, obj)
        return obj

    def phones_of(self, page):
        return [m["identities"]["phone"][0] for m in page["members"]]

    def test_pages_cover_every_member_once_in_order(self):
        seen, after, pages = [], None, 0
        while True:
            query = {"limit": 3}
            if after is not None:
                query["after"] = after
            page = self.list(**query)
            pages += 1
            self.assertLessEqual(len(page["members"]), 3)
            seen.extend(page["members"])
            after = page["next_after"]
            if after is None:
                break
            self.assertLess(pages, 10, "paging does not end")
        self.assertEqual([m["identities"]["phone"][0] for m in seen], [mask(p[0]) for p in self.PEOPLE])
        ids = [m["member_id"] for m in seen]
        self.assertEqual(ids, sorted(set(ids)))
        self.assertEqual(self.list(limit=1000)["members"], seen)

    def test_filters(self):
        def expect(pred):
            return [mask(p[0]) for p in self.PEOPLE if pred(p)]

        self.assertEqual(self.phones_of(self.list(city="深圳")), expect(lambda p: p[1] == "深圳"))
        self.assertEqual(self.phones_of(self.list(gender="female")), expect(lambda p: p[2] == "female"))
        self.assertEqual(self.phones_of(self.list(source="store_qr")), expect(lambda p: p[3] == "store_qr"))
        self.assertEqual(self.phones_of(self.list(has_orders="true")), expect(lambda p: p[4] > 0))
        self.assertEqual(self.phones_of(self.list(has_orders="false")), expect(lambda p: p[4] == 0))
        self.assertEqual(self.phones_of(self.list(city="深圳", gender="male")),
                         expect(lambda p: p[1] == "深圳" and p[2] == "male"))
        self.assertEqual(self.list(city="北京")["members"], [])
        # A filtered list pages too.
        first = self.list(city="深圳", limit=2)
        self.assertEqual(self.phones_of(first), expect(lambda p: p[1] == "深圳")[:2])
        rest = self.list(city="深圳", limit=100, after=first["next_after"])
        self.assertEqual(self.phones_of(first) + self.phones_of(rest), expect(lambda p: p[1] == "深圳"))

    def test_bad_query_is_422_naming_the_parameter(self):
        for query, field in (({"limit": 0}, "limit"), ({"limit": "many"}, "limit"), ({"after": -1}, "after"),
                             ({"gender": "robot"}, "gender"), ({"has_orders": "maybe"}, "has_orders")):
            status, obj, hdrs = self.server.json("GET", "/api/v1/tenants/%s/members?%s" % (self.t, urlencode(query)))
            self.assertEqual(status, 422, query)
            self.assertEqual(hdrs["content-type"], "application/problem+json")
            self.assertEqual([e["field"] for e in obj["errors"]], [field])


class MasterDataTest(ApiTestBase):
    def post(self, t, kind, body, accepted, duplicates=0):
        status, obj, _ = self.server.json("POST", "/api/v1/tenants/%s/%s" % (t, kind), body)
        self.assertEqual(status, 200, obj)
        self.assertEqual(obj, {"accepted": accepted, "duplicates": duplicates, "rejected": []})

    def get(self, t, kind):
        status, obj, _ = self.server.json("GET", "/api/v1/tenants/%s/%s" % (t, kind))
        self.assertEqual(status, 200, obj)
        return obj[kind]

    def test_master_data_round_trip(self):
        t = "master"
        self.create_tenant(self.server, t)
        stores = [{"id": "S002", "name": "福田店", "city": "深圳", "lat": 22.54, "lng": 114.05},
                  {"id": "S001", "name": "天河店", "city": "广州", "lat": 23.13, "lng": 113.32}]
        self.post(t, "stores", stores, accepted=2)
        self.post(t, "staff", {"id": "E0007", "name": "张三", "store": "S001"}, accepted=1)
        self.post(t, "products", [{"sku": "SKU-1", "name": "农夫山泉 550ml×24 整箱", "category": "drinks",
                                   "price_fen": 3990},
                                  {"sku": "SKU-2", "name": "薯片", "category": "food", "price_fen": 850}], accepted=2)
        self.post(t, "categories", [{"id": "food", "name": "食品"},
                                    {"id": "drinks", "name": "饮料", "parent": "food"}], accepted=2)

        got = self.get(t, "stores")
        self.assertEqual([s["id"] for s in got], ["S001", "S002"])
        by_id = {s["id"]: s for s in got}
        for s in stores:
            g = by_id[s["id"]]
            self.assertEqual((g["name"], g["city"]), (s["name"], s["city"]))
            self.assertAlmostEqual(g["lat"], s["lat"], places=6)
            self.assertAlmostEqual(g["lng"], s["lng"], places=6)
        self.assertEqual(self.get(t, "staff"), [{"id": "E0007", "name": "张三", "store": "S001"}])
        products = {p["sku"]: p for p in self.get(t, "products")}
        self.assertEqual(products["SKU-1"]["name"], "农夫山泉 550ml×24 整箱")
        self.assertEqual(products["SKU-1"]["price_fen"], 3990)
        self.assertEqual(products["SKU-2"]["category"], "food")
        cats = {c["id"]: c for c in self.get(t, "categories")}
        self.assertEqual(cats["drinks"]["parent"], "food")
        self.assertEqual(cats["food"]["name"], "食品")

        # The same store again is a duplicate; a changed one replaces it.
        self.post(t, "stores", stores[0], accepted=0, duplicates=1)
        self.post(t, "stores", dict(stores[0], name="福田中心店"), accepted=1)
        self.assertEqual({s["id"]: s["name"] for s in self.get(t, "stores")}, {"S001": "天河店", "S002": "福田中心店"})
        _, summary, _ = self.server.json("GET", "/api/v1/tenants/%s" % t)
        self.assertEqual(summary["counts"]["stores"], 2)
        self.assertEqual(summary["counts"]["staff"], 1)
        self.assertEqual(summary["counts"]["products"], 2)
        self.assertEqual(summary["counts"]["categories"], 2)

        # A bad store is rejected by name of field; the good one beside it is kept.
        status, obj, _ = self.server.json("POST", "/api/v1/tenants/%s/stores" % t,
                                          [{"id": "S003", "lat": 22.5}, {"id": "S004", "name": "南山店"}])
        self.assertEqual(status, 200, obj)
        self.assertEqual(obj["accepted"], 1)
        self.assertEqual(len(obj["rejected"]), 1)
        self.assertEqual(obj["rejected"][0]["line"], 1)
        self.assertEqual([e["field"] for e in obj["rejected"][0]["errors"]], ["lng"])
        self.assertEqual(sorted(s["id"] for s in self.get(t, "stores")), ["S001", "S002", "S004"])

    def test_store_coordinates_keep_their_precision(self):
        t = "coords"
        self.create_tenant(self.server, t)
        self.post(t, "stores", {"id": "S001", "name": "市民中心店", "lat": 22.543096, "lng": 114.057865}, accepted=1)
        [s] = self.get(t, "stores")
        self.assertAlmostEqual(s["lat"], 22.543096, places=6)
        self.assertAlmostEqual(s["lng"], 114.057865, places=6)


class IdempotencyTest(ApiTestBase):
    def test_replay_returns_identical_body_and_changes_nothing(self):
        t = "idem"
        self.create_tenant(self.server, t)
        path = "/api/v1/tenants/%s/events" % t
        body = "".join(json.dumps(e) + "\n" for e in [
            order("I-1", {"phone": "13400000004"}, 1000, "2026-03-01T10:00:00+08:00"),
            order("I-2", {"phone": "13400000004"}, 2000, "2026-03-02T10:00:00+08:00"),
            {"type": "order", "order_id": "I-bad"}])
        key = {"Idempotency-Key": "batch-7f3a", "Content-Type": "application/x-ndjson"}
        status1, _, first = self.server.request("POST", path, body, key)
        self.assertEqual(status1, 200, first)
        obj = json.loads(first)
        self.assertEqual(obj["accepted"], 2)
        self.assertEqual([r["line"] for r in obj["rejected"]], [3])
        m = self.get_member(t, "phone:13400000004")

        status2, hdrs2, second = self.server.request("POST", path, body, key)
        self.assertEqual(status2, status1)
        self.assertEqual(second, first)  # the first answer, byte for byte: not "2 duplicates"
        self.assertEqual(hdrs2.get("idempotent-replayed"), "true")
        self.assertEqual(self.get_member(t, "phone:13400000004"), m)

        # Another body under the same key is refused, naming the key, and applies nothing.
        other = json.dumps(order("I-3", {"phone": "13400000004"}, 5000, "2026-03-03T10:00:00+08:00")) + "\n"
        status3, third, _ = self.server.json("POST", path, other, key)
        self.assertEqual(status3, 422, third)
        self.assertEqual([e["field"] for e in third["errors"]], ["Idempotency-Key"])
        self.assertEqual(self.get_member(t, "phone:13400000004"), m)

        # Without the key the same events are duplicates.
        status4, obj4, _ = self.server.ingest(t, [order("I-1", {"phone": "13400000004"}, 1000,
                                                        "2026-03-01T10:00:00+08:00")])
        self.assertEqual(obj4, {"accepted": 0, "duplicates": 1, "rejected": []})

        # Master data POSTs honour the key as well.
        mpath = "/api/v1/tenants/%s/stores" % t
        s1, _, b1 = self.server.request("POST", mpath, {"id": "S9", "name": "A"}, {"Idempotency-Key": "st-1"})
        s2, _, b2 = self.server.request("POST", mpath, {"id": "S9", "name": "B"}, {"Idempotency-Key": "st-1"})
        self.assertEqual(s1, 200, b1)
        # The same key with another body is a client mistake, not a replay.
        self.assertEqual(s2, 422, b2)
        self.assertIn(b"Idempotency-Key", b2)
        s3, _, b3 = self.server.request("POST", mpath, {"id": "S9", "name": "A"}, {"Idempotency-Key": "st-1"})
        self.assertEqual((s3, b3), (s1, b1))
        _, stores, _ = self.server.json("GET", mpath)
        self.assertEqual([(s["id"], s["name"]) for s in stores["stores"]], [("S9", "A")])

    def test_bad_idempotency_key_is_422(self):
        t = "idem-bad"
        self.create_tenant(self.server, t)
        status, obj, _ = self.server.ingest(t, [order("X-1", {"phone": "13400000005"}, 1, "2026-03-01T10:00:00+08:00")],
                                            headers={"Idempotency-Key": "k" * 201})
        self.assertEqual(status, 422, obj)
        self.assertEqual([e["field"] for e in obj["errors"]], ["Idempotency-Key"])
        self.get_member(t, "phone:13400000005", expect=404)


class OperationsTest(ApiTestBase):
    def test_healthz(self):
        self.create_tenant(self.server, "health")
        status, obj, hdrs = self.server.json("GET", "/healthz")
        self.assertEqual(status, 200)
        self.assertEqual(obj["status"], "ok")
        self.assertEqual(obj["store"], "ok")
        self.assertGreaterEqual(obj["tenants"], 1)

    def test_metrics_count_accepted_events_per_tenant(self):
        t = "metrics"
        self.create_tenant(self.server, t)
        events = [order("MX-%d" % i, {"phone": "1330000%04d" % i}, 100 + i, "2026-03-01T10:00:00+08:00")
                  for i in range(5)]
        self.ingest_ok(t, events, accepted=5)
        self.ingest_ok(t, events[:2], accepted=0, duplicates=2)
        status, hdrs, raw = self.server.request("GET", "/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(hdrs["content-type"].startswith("text/plain"), hdrs["content-type"])
        text = raw.decode("utf-8")
        samples = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                samples[name] = float(value)
        self.assertEqual(samples['pond_events_accepted_total{tenant="%s"}' % t], 5)
        self.assertEqual(samples['pond_events_duplicate_total{tenant="%s"}' % t], 2)
        self.assertIn("# TYPE pond_events_accepted_total counter", text)

    def test_openapi_document_parses(self):
        status, hdrs, raw = self.server.request("GET", "/api/v1/openapi.json")
        self.assertEqual(status, 200)
        doc = json.loads(raw.decode("utf-8"))
        self.assertIn("openapi", doc)
        self.assertIn("/api/v1/tenants/{tenant}/events", doc["paths"])
        self.assertIn("/api/v1/tenants/{tenant}/members/{ref}", doc["paths"])

    def test_tenant_create_and_list(self):
        obj = self.create_tenant(self.server, "tz-berlin", timezone="Europe/Berlin")
        self.assertEqual(obj["timezone"], "Europe/Berlin")
        default = self.create_tenant(self.server, "tz-default")
        self.assertEqual(default["timezone"], "Asia/Shanghai")
        status, listing, _ = self.server.json("GET", "/api/v1/tenants")
        self.assertEqual(status, 200)
        ids = [x["id"] for x in listing["tenants"]]
        self.assertIn("tz-berlin", ids)
        self.assertIn("tz-default", ids)
        # Creating the same tenant again answers it unchanged; another zone is a conflict.
        status, again, _ = self.server.json("POST", "/api/v1/tenants",
                                            {"id": "tz-berlin", "name": "Tenant tz-berlin", "timezone": "Europe/Berlin"})
        self.assertEqual(status, 201, again)
        self.assertEqual(again, obj)
        status, conflict, _ = self.server.json("POST", "/api/v1/tenants", {"id": "tz-berlin", "timezone": "UTC"})
        self.assertEqual(status, 409, conflict)
        # Times render in the tenant's zone.
        self.server.ingest("tz-berlin", [order("B-1", {"phone": "13200000002"}, 100, "2026-07-01T12:00:00+08:00")])
        status, m, _ = self.server.json("GET", "/api/v1/tenants/tz-berlin/members/phone:13200000002")
        self.assertEqual(m["orders"]["last_paid_at"], "2026-07-01T06:00:00+02:00")


class RestartTest(PondTestCase):
    """Everything written before a clean restart reads back identically."""

    def snapshot(self, server, t, refs):
        snap = {}
        for path in ["/api/v1/tenants/%s" % t] + ["/api/v1/tenants/%s/%s" % (t, k)
                                                 for k in ("stores", "staff", "products", "categories")]:
            status, _, raw = server.request("GET", path)
            self.assertEqual(status, 200, path)
            snap[path] = json.loads(raw)
        # Every member number, standing or merged, and every ref form.
        n = snap["/api/v1/tenants/%s" % t]["counts"]["members"] + \
            snap["/api/v1/tenants/%s" % t]["counts"]["merged_members"]
        for ref in [str(i) for i in range(1, n + 1)] + refs:
            status, _, raw = server.request("GET", "/api/v1/tenants/%s/members/%s" % (t, ref))
            self.assertEqual(status, 200, ref)
            snap[ref] = json.loads(raw)
        for query in ("limit=2", "limit=2&after=2", "limit=1000", "city=%E6%B7%B1%E5%9C%B3", "has_orders=true"):
            status, _, raw = server.request("GET", "/api/v1/tenants/%s/members?%s" % (t, query))
            self.assertEqual(status, 200, query)
            snap[query] = json.loads(raw)
        return snap

    def test_data_survives_restart_identically(self):
        server = self.start_server()
        t = "durable"
        self.create_tenant(server, t, timezone="Asia/Shanghai")
        events = [
            {"type": "store", "id": "S001", "name": "福田店", "city": "深圳", "lat": 22.54, "lng": 114.05},
            {"type": "staff", "id": "E1", "name": "张三", "store": "S001"},
            {"type": "category", "id": "food", "name": "食品"},
            {"type": "product", "sku": "SKU-1", "name": "薯片", "category": "food", "price_fen": 850},
            member({"phone": "13800000001", "unionid": "o6_a"}, name="王小明", gender="female",
                   birthday="1995-11-22", city="深圳", home_store="S001", source="store_qr",
                   registered_at="2026-01-02T10:00:00+08:00", owner_staff="E1"),
            member({"external_userid": "wm_b"}, name="Bob", city="广州"),
            member({"pos_id": "P-3"}, city="深圳"),
            order("D-1", {"phone": "13800000001"}, 6800, "2026-03-04T19:20:00+08:00",
                  items=[{"sku": "SKU-1", "category": "food", "qty": 8, "paid_fen": 6800}], store="S001",
                  staff="E1", payment="wechat_pay"),
            order("D-2", {"external_userid": "wm_b"}, 1500, "2026-03-05T19:20:00+08:00"),
            order("D-3", {"pos_id": "P-3"}, 900, "2026-03-06T19:20:00+08:00"),
            order("D-4", {"phone": "13900000004"}, 2500, "2026-03-07T19:20:00+08:00"),  # creates a member
            refund("RF-1", "D-1", 800, "2026-03-08T10:00:00+08:00"),
            # Merges Bob (older) with the P-3 member: P-3's order moves to Bob.
            member({"external_userid": "wm_b", "pos_id": "P-3"}),
            refund("RF-2", "D-3", 900, "2026-03-09T10:00:00+08:00"),
        ]
        self.ingest_ok(server, t, events, accepted=len(events))
        idem = {"Idempotency-Key": "restart-1", "Content-Type": "application/x-ndjson"}
        idem_body = json.dumps(order("D-5", {"unionid": "o6_a"}, 100, "2026-03-10T10:00:00+08:00")) + "\n"
        status, _, idem_first = server.request("POST", "/api/v1/tenants/%s/events" % t, idem_body, idem)
        self.assertEqual(status, 200)

        refs = ["phone:13800000001", "unionid:o6_a", "ext:wm_b", "pos:P-3", "phone:13900000004"]
        before = self.snapshot(server, t, refs)
        # The data is what was sent (so the comparison below compares something).
        self.assertEqual(before["phone:13800000001"]["orders"],
                         {"count": 2, "paid_fen": 6900, "refunded_fen": 800, "net_fen": 6100,
                          "last_paid_at": "2026-03-10T10:00:00+08:00"})
        self.assertEqual(before["pos:P-3"]["member_id"], before["ext:wm_b"]["member_id"])
        self.assertEqual(before["ext:wm_b"]["orders"]["count"], 2)
        self.assertEqual(before["ext:wm_b"]["orders"]["net_fen"], 1500)
        self.assertEqual(len(before["ext:wm_b"]["merges"]), 1)
        self.assertEqual(before["phone:13900000004"]["source"], "order")

        server.stop()
        server.start()
        after = self.snapshot(server, t, refs)
        for key in before:
            self.assertEqual(after[key], before[key], key)

        # The idempotent answer survives, and every order, refund and piece
        # of master data is still known: re-sent, each is a duplicate.
        status, _, idem_again = server.request("POST", "/api/v1/tenants/%s/events" % t, idem_body, idem)
        self.assertEqual((status, idem_again), (200, idem_first))
        keyed = [e for e in events if e["type"] != "member"]
        self.ingest_ok(server, t, keyed, accepted=0, duplicates=len(keyed))
        self.assertEqual(self.snapshot(server, t, refs), before)

    # Regression: identities attached out of order must read back in the same
    # order after a restart (the store loads them sorted by value).
    def test_identity_order_survives_restart(self):
        server = self.start_server()
        t = "idorder"
        self.create_tenant(server, t)
        self.ingest_ok(server, t, [member({"phone": "13900000002"})], accepted=1)
        m = server.json("GET", "/api/v1/tenants/%s/members/phone:13900000002" % t)[1]
        self.ingest_ok(server, t, [member({"member_id": m["member_id"], "phone": "13800000001"})], accepted=1)
        status, before, _ = server.json("GET", "/api/v1/tenants/%s/members/%d" % (t, m["member_id"]))
        self.assertEqual(sorted(before["identities"]["phone"]), [mask("13800000001"), mask("13900000002")])
        server.restart()
        status, after, _ = server.json("GET", "/api/v1/tenants/%s/members/%d" % (t, m["member_id"]))
        self.assertEqual(after, before)

    def ingest_ok(self, server, tenant, events, accepted, duplicates=0):
        status, obj, _ = server.ingest(tenant, events)
        self.assertEqual(status, 200, obj)
        self.assertEqual(obj, {"accepted": accepted, "duplicates": duplicates, "rejected": []})


if __name__ == "__main__":
    unittest.main()
