"""End-to-end tests of activities over HTTP (CONTRACT.md "Coupons and flash
sales", src/http/activity_api.cpp): a flash sale under thousands of
simultaneous claims, group buys, bargains with helpers who become members,
an auditable lucky draw, the points mall, time windows, bad input, and that
claims survive a crash.

Expected outcomes come from the rules (stock, limits, windows, the seed),
not from earlier answers. The server runs on a manual clock (CONTRACT.md
"Time that tests can move"): windows are fixed instants, and deadlines pass
by moving the clock, never by waiting.
"""

import datetime
import hashlib
import http.client
import json
import random
import threading
from zoneinfo import ZoneInfo

from pond_server import PondTestCase

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime.datetime(2026, 11, 27, 20, 0, tzinfo=SHANGHAI)  # the server's clock at start
MASK = (1 << 64) - 1


def draw_roll(seed, n):
    """activity_book.hpp's DrawRoll: splitmix64(seed + n * golden)."""
    z = (seed + n * 0x9E3779B97F4A7C15) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def phone(i):
    return "1390000%04d" % i


class ActivityTest(PondTestCase):
    MEMBERS = 300

    def setUp(self):
        super().setUp()
        self.server = self.start_server(extra_args=["--clock", "manual@" + NOW.isoformat()])
        self.create_tenant(self.server, "shop")
        self.base = "/api/v1/tenants/shop"
        members = [{"type": "member", "member": {"phone": phone(i)}} for i in range(self.MEMBERS)]
        status, obj, _ = self.server.ingest("shop", members)
        self.assertEqual((status, obj["accepted"]), (200, self.MEMBERS), obj)
        self.window = {"starts_at": (NOW - datetime.timedelta(hours=1)).isoformat(),
                       "ends_at": (NOW + datetime.timedelta(hours=2)).isoformat()}

    def call(self, method, path, body=None, expect=200, headers=None):
        status, obj, _ = self.server.json(method, self.base + path, body, headers)
        self.assertEqual(status, expect, obj)
        return obj

    def activity(self, **fields):
        body = dict(self.window)
        body.update(fields)
        return self.call("POST", "/activities", body, expect=201)

    def claim(self, activity, i, expect=201, **extra):
        body = {"member": {"phone": phone(i)}}
        body.update(extra)
        return self.call("POST", "/activities/%d/claims" % activity["id"], body, expect=expect)

    def test_thousands_of_simultaneous_claims_sell_exactly_the_stock(self):
        stock, limit, clients, per_client = 100, 2, 48, 60  # 2 880 claims
        sale = self.activity(kind="flash_sale", sku="SKU-1", price_fen=990, stock=stock, per_member_limit=limit)
        results = []
        lock = threading.Lock()
        start = threading.Barrier(clients)

        def client(seed):
            rng = random.Random(seed)
            conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=60)
            mine = []
            start.wait()
            for _ in range(per_client):
                i = rng.randrange(60)  # 60 members: many try more than their limit
                body = json.dumps({"member": {"phone": phone(i)}})
                conn.request("POST", self.base + "/activities/%d/claims" % sale["id"], body,
                             {"Content-Type": "application/json"})
                resp = conn.getresponse()
                obj = json.loads(resp.read())
                mine.append((i, resp.status, obj.get("reason"), obj.get("claim_id")))
            conn.close()
            with lock:
                results.extend(mine)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=120)
        self.assertEqual(len(results), clients * per_client)
        won = [(i, claim) for i, status, _, claim in results if status == 201]
        self.assertEqual(len(won), stock, "exactly the stock is sold")
        self.assertEqual(len({claim for _, claim in won}), stock, "each success is its own claim")
        per_member = {}
        for i, _ in won:
            per_member[i] = per_member.get(i, 0) + 1
        self.assertLessEqual(max(per_member.values()), limit)
        refused = [reason for _, status, reason, _ in results if status != 201]
        self.assertTrue(all(r in ("sold_out", "limit_reached") for r in refused), set(refused))
        report = self.call("GET", "/activities/%d" % sale["id"])
        self.assertEqual((report["claimed"], report["report"]["left"]), (stock, 0))
        self.assertEqual(report["report"]["claims"], clients * per_client)
        self.assertEqual(sum(report["report"]["refused"].values()), len(refused))
        self.assertIn("sold_out_at", report["report"])
        # Every claim is listed, once; and all of it survives a crash.
        listed = self.call("GET", "/activities/%d/claims?limit=1000" % sale["id"])["claims"]
        self.assertEqual(sorted(c["claim_id"] for c in listed), sorted(claim for _, claim in won))
        self.server.kill()
        self.server.start()
        self.assertEqual(self.call("GET", "/activities/%d" % sale["id"]), report)

    def advance(self, duration):
        status, obj, _ = self.server.json("POST", "/api/v1/clock", {"advance": duration})
        self.assertEqual(status, 200, obj)

    def test_time_windows_and_idempotent_retries(self):
        now = NOW
        later = self.activity(kind="flash_sale", sku="S", stock=5, starts_at=(now + datetime.timedelta(hours=1)).isoformat(),
                              ends_at=(now + datetime.timedelta(hours=2)).isoformat())
        over = self.activity(kind="flash_sale", sku="S", stock=5, starts_at=(now - datetime.timedelta(hours=2)).isoformat(),
                             ends_at=(now - datetime.timedelta(seconds=1)).isoformat())
        self.assertEqual(self.claim(later, 1, expect=409)["reason"], "not_started")
        self.assertEqual(self.claim(over, 1, expect=409)["reason"], "ended")
        # The seed is shown once an activity has ended, never before.
        self.assertIn("seed", self.call("GET", "/activities/%d" % over["id"]))
        self.assertNotIn("seed", self.call("GET", "/activities/%d" % later["id"]))
        sale = self.activity(kind="flash_sale", sku="S", stock=5, per_member_limit=1)
        key = {"Idempotency-Key": "claim-1"}
        first = self.call("POST", "/activities/%d/claims" % sale["id"], {"member": {"phone": phone(1)}},
                          expect=201, headers=key)
        again = self.call("POST", "/activities/%d/claims" % sale["id"], {"member": {"phone": phone(1)}},
                          expect=201, headers=key)
        self.assertEqual(again, first, "a retry gets the first answer and takes nothing")
        self.assertEqual(self.call("GET", "/activities/%d" % sale["id"])["report"]["taken"], 1)
        # An hour later the first one has started; two more and it has ended.
        self.advance("PT1H")
        self.claim(later, 1)
        self.advance("PT2H")
        self.assertEqual(self.claim(later, 2, expect=409)["reason"], "ended")

    def test_group_buys_complete_when_full_and_hold_stock_while_open(self):
        group = self.activity(kind="group_buy", sku="SKU-G", price_fen=1990, list_price_fen=3990, stock=4,
                              group_size=3, group_hours=24, per_member_limit=1)
        opened = self.claim(group, 1)
        self.assertEqual((opened["state"], opened["group_members"], opened["group_id"]),
                         ("waiting", 1, opened["claim_id"]))
        # The open group holds 3 of the 4 units: no room for a second group.
        self.assertEqual(self.claim(group, 9, expect=409)["reason"], "sold_out")
        self.claim(group, 2, group_id=opened["claim_id"])
        self.assertEqual(self.claim(group, 2, group_id=opened["claim_id"], expect=409)["reason"], "limit_reached")
        full = self.claim(group, 3, group_id=opened["claim_id"])
        self.assertEqual((full["state"], full["group_members"]), ("complete", 3))
        self.assertEqual(self.claim(group, 4, group_id=opened["claim_id"], expect=409)["reason"], "group_full")
        self.assertEqual(self.call("GET", "/activities/%d/claims/%d" % (group["id"], opened["claim_id"]))["state"],
                         "complete")
        report = self.call("GET", "/activities/%d" % group["id"])["report"]
        self.assertEqual((report["groups"], report["taken"]), ({"open": 0, "complete": 1, "failed": 0}, 3))
        self.call("POST", "/activities/%d/claims" % group["id"], {"member": {"phone": phone(5)}, "group_id": 999999},
                  expect=404)
        # A group that does not fill within group_hours fails: its units go
        # back and its members may claim again.
        longer = self.activity(kind="group_buy", sku="SKU-H", price_fen=1990, list_price_fen=3990, stock=3,
                               group_size=3, group_hours=1, per_member_limit=1,
                               ends_at=(NOW + datetime.timedelta(days=2)).isoformat())
        lonely = self.claim(longer, 6)
        self.claim(longer, 7, group_id=lonely["claim_id"])
        self.assertEqual(self.claim(longer, 8, expect=409)["reason"], "sold_out")
        self.advance("PT59M")
        self.assertEqual(self.call("GET", "/activities/%d/claims/%d" % (longer["id"], lonely["claim_id"]))["state"],
                         "waiting")
        self.advance("PT1M")
        self.assertEqual(self.call("GET", "/activities/%d/claims/%d" % (longer["id"], lonely["claim_id"]))["state"],
                         "failed")
        self.assertEqual(self.claim(longer, 8, group_id=lonely["claim_id"], expect=409)["reason"], "group_closed")
        report = self.call("GET", "/activities/%d" % longer["id"])["report"]
        self.assertEqual((report["groups"], report["taken"]), ({"open": 0, "complete": 0, "failed": 1}, 0))
        self.assertEqual(self.claim(longer, 6)["state"], "waiting", "its members may open another")

    def test_bargain_helpers_become_tagged_members(self):
        bargain = self.activity(kind="bargain", sku="SKU-B", price_fen=100, list_price_fen=5100, helpers=3, stock=1)
        mine = self.claim(bargain, 1)
        self.assertEqual((mine["state"], mine["price_fen"]), ("waiting", 5100))
        cuts = "/activities/%d/claims/%d/cuts" % (bargain["id"], mine["claim_id"])
        self.assertEqual(self.call("POST", cuts, {"member": {"phone": phone(1)}}, expect=409)["reason"], "own_bargain")
        friends = ["13700000001", "13700000002", "13700000003"]  # not members yet
        last = None
        for f in friends:
            last = self.call("POST", cuts, {"member": {"phone": f}}, expect=201)
        self.assertEqual(self.call("POST", cuts, {"member": {"phone": friends[0]}}, expect=409)["reason"],
                         "bargain_closed")
        amounts = [c["cut_fen"] for c in last["cuts"]]
        self.assertEqual((last["state"], last["price_fen"], sum(amounts)), ("complete", 100, 5000))
        self.assertEqual(amounts, sorted(amounts, reverse=True), "cuts shrink")
        for f in friends:
            m = self.call("GET", "/members/phone:" + f)
            self.assertEqual((m["source"], "bargain_helper" in m["tags"]), ("bargain", True))
        # The one unit went to this bargain: another member's start is sold out.
        self.assertEqual(self.claim(bargain, 2, expect=409)["reason"], "sold_out")
        report = self.call("GET", "/activities/%d" % bargain["id"])["report"]
        self.assertEqual(report["bargains"], {"complete": 1, "helps": 3,
                                              "cuts_refused": {"bargain_closed": 1, "own_bargain": 1}})

    def test_lucky_draw_is_reproducible_from_its_seed(self):
        seed = 0x1234ABCD
        tickets = self.call("POST", "/coupon-templates", {"name": "演唱会票券", "kind": "gift", "sku": "TICKET",
                                                          "valid_days": 30}, expect=201)
        draw = self.activity(kind="lucky_draw", prizes=[{"name": "ticket", "stock": 3, "weight": 1,
                                                         "template_id": tickets["id"]},
                                                        {"name": "mug", "stock": 50, "weight": 2}],
                             none_weight=7, purchase_required=True, per_member_limit=1, seed="%016x" % seed)
        # The seed is hidden while the draw runs, but committed to from the start.
        self.assertNotIn("seed", draw)
        self.assertEqual(draw["seed_sha256"], hashlib.sha256(("%016x" % seed).encode()).hexdigest())
        self.assertEqual(self.claim(draw, 1, expect=409)["reason"], "not_eligible")
        now = NOW
        orders = [{"type": "order", "order_id": "O-%d" % i, "member": {"phone": phone(i)}, "channel": "store",
                   "paid_at": now.isoformat(), "paid_fen": 3000} for i in range(40)]
        status, obj, _ = self.server.ingest("shop", orders)
        self.assertEqual((status, obj["accepted"]), (200, 40), obj)
        won = {}
        for i in range(40):
            c = self.claim(draw, i)
            # Anyone with the seed recomputes the draw: roll, then its band.
            # The roll itself is shown only once the draw has ended.
            roll = draw_roll(seed, c["draw"])
            self.assertNotIn("roll", c)
            pick, expected = roll % 10, None
            if pick < 1 and won.get("ticket", 0) < 3:
                expected = "ticket"
            elif 1 <= pick < 3:
                expected = "mug"
            self.assertEqual(c["prize"], expected, c)
            if expected:
                won[expected] = won.get(expected, 0) + 1
            self.assertEqual("coupon" in c, expected == "ticket")
        self.assertEqual(self.claim(draw, 0, expect=409)["reason"], "limit_reached")
        report = self.call("GET", "/activities/%d" % draw["id"])["report"]
        self.assertEqual(report["prizes_won"], {"ticket": won.get("ticket", 0), "mug": won.get("mug", 0)})
        self.assertEqual(report["refused"], {"not_eligible": 1, "limit_reached": 1})

    def test_points_mall_spends_points_for_a_coupon(self):
        coupon = self.call("POST", "/coupon-templates", {"name": "8元无门槛", "kind": "no_threshold", "off_fen": 800,
                                                         "valid_days": 7, "stock": 1}, expect=201)
        mall = self.activity(kind="points_mall", points=500, template_id=coupon["id"], stock=10, per_member_limit=0)
        self.assertEqual(self.claim(mall, 1, expect=409)["reason"], "insufficient_points")
        for i in (1, 2):
            self.call("POST", "/members/phone:%s/points/adjust" % phone(i), {"points": 800, "reason": "test"})
        got = self.claim(mall, 1)
        self.assertEqual(self.call("GET", "/coupons/" + got["coupon"])["template_id"], coupon["id"])
        self.assertEqual(self.call("GET", "/members/phone:%s" % phone(1))["points"]["balance"], 300)
        # The coupon's stock is gone: member 2 is refused and keeps their points.
        self.assertEqual(self.claim(mall, 2, expect=409)["reason"], "out_of_stock")
        self.assertEqual(self.call("GET", "/members/phone:%s" % phone(2))["points"]["balance"], 800)
        self.assertEqual(self.claim(mall, 1, expect=409)["reason"], "insufficient_points")
        # The coupon report counts it under its template and under the activity that gave it.
        self.call("POST", "/coupons/%s/redeem" % got["coupon"], {"order_id": "POS-9"})
        report = self.call("GET", "/reports/coupons")
        by_activity = {a["activity_id"]: a for a in report["activities"]}
        self.assertEqual(list(by_activity), [mall["id"]])
        self.assertEqual(by_activity[mall["id"]]["redeemed"], {"count": 1, "face_value_fen": 800, "cost_fen": 800})
        self.assertEqual([(t["template_id"], t["issued"]["count"], t["unused"]["count"]) for t in report["templates"]],
                         [(coupon["id"], 1, 0)])
        self.assertEqual(report["rules"], [])

    def test_bad_input_is_named(self):
        bad = self.call("POST", "/activities", {"kind": "flash_sale", "stock": 0, "starts_at": "soon", "sku": 5,
                                                "colour": "red"}, expect=422)
        self.assertEqual(sorted(e["field"] for e in bad["errors"]), ["colour", "ends_at", "sku", "starts_at", "stock"])
        bad = self.call("POST", "/activities", dict(self.window, kind="points_mall", points=5, template_id=77, stock=1),
                        expect=422)
        self.assertEqual([e["field"] for e in bad["errors"]], ["template_id"])
        sale = self.activity(kind="flash_sale", sku="S", stock=1)
        bad = self.call("POST", "/activities/%d/claims" % sale["id"], {"member": {"phone": "12"}, "group_id": 0},
                        expect=422)
        self.assertEqual(sorted(e["field"] for e in bad["errors"]), ["group_id", "member.phone"])
        self.call("POST", "/activities/%d/claims" % sale["id"], {"member": {"phone": phone(1)}, "group_id": 5},
                  expect=422)
        self.call("POST", "/activities/%d/claims" % sale["id"], {"member": {"phone": "13800000000"}}, expect=404)
        for missing in ("99", "1x", "01"):
            self.call("GET", "/activities/" + missing, expect=404)
            self.call("POST", "/activities/%s/claims" % missing, {"member": {"phone": phone(1)}}, expect=404)
        self.call("POST", "/activities/%d/claims" % sale["id"], "not json", expect=400)  # unreadable: 400 everywhere
        self.assertEqual(self.call("GET", "/activities/%d" % sale["id"])["report"]["taken"], 0)
