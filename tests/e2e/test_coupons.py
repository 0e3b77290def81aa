"""End-to-end tests of coupons over HTTP (CONTRACT.md "Coupons and flash
sales", src/http/coupon_api.cpp): templates checked field by field, issuing
under stock and per-member limits with many clients at once, redeeming
idempotently per order, holds around a checkout, revoking, and that the
wallet survives a crash and a restart.

Expected outcomes come from the rules (stock, limits, the order that holds
a coupon), not from earlier answers.
"""

import datetime
import threading
import unittest
from zoneinfo import ZoneInfo

from pond_server import PondTestCase

SHANGHAI = ZoneInfo("Asia/Shanghai")
# The server's manual clock at start (CONTRACT.md "Time that tests can move"):
# a Wednesday, so the member day is known; time passes by moving it.
NOW = datetime.datetime(2026, 11, 4, 10, 0, tzinfo=SHANGHAI)
CODE_ALPHABET = set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")


class CouponTest(PondTestCase):
    def setUp(self):
        super().setUp()
        self.server = self.start_server(extra_args=["--clock", "manual@" + NOW.isoformat()])
        self.create_tenant(self.server, "shop")
        self.base = "/api/v1/tenants/shop"
        members = [{"type": "member", "member": {"phone": "1390000%04d" % i}} for i in range(40)]
        status, obj, _ = self.server.ingest("shop", members)
        self.assertEqual((status, obj["accepted"]), (200, 40), obj)

    def call(self, method, path, body=None, expect=200, headers=None):
        status, obj, _ = self.server.json(method, self.base + path, body, headers)
        self.assertEqual(status, expect, obj)
        return obj

    def template(self, **fields):
        body = {"name": "满68减10", "kind": "cash_off", "threshold_fen": 6800, "off_fen": 1000, "valid_days": 7}
        body.update(fields)
        return self.call("POST", "/coupon-templates", body, expect=201)

    def issue(self, template_id, i, expect=201, headers=None):
        return self.call("POST", "/coupons", {"template_id": template_id, "member": {"phone": "1390000%04d" % i}},
                         expect=expect, headers=headers)

    def test_templates_are_checked_and_listed(self):
        t = self.template(stock=1000, per_member_limit=1)  # CONTRACT.md's example
        self.assertEqual((t["kind"], t["threshold_fen"], t["stock"], t["issued"]), ("cash_off", 6800, 1000, 0))
        bad = self.call("POST", "/coupon-templates",
                        {"name": "", "kind": "discount", "percent_off": 100, "valid_days": 7, "valid_to": "soon",
                         "stok": 5}, expect=422)
        self.assertEqual(sorted(e["field"] for e in bad["errors"]),
                         ["name", "percent_off", "stok", "valid_to"])
        self.assertEqual(self.call("GET", "/coupon-templates")["templates"][0]["id"], t["id"])
        for missing in ("99", "1x", "01", "-1"):
            self.call("GET", "/coupon-templates/" + missing, expect=404)

    def test_issue_and_redeem_as_the_contract_says(self):
        t = self.template()
        c = self.issue(t["id"], 1)
        self.assertEqual(len(c["code"]), 16)
        self.assertTrue(set(c["code"]) <= CODE_ALPHABET, c["code"])
        # Seven days from issue: through the end of the sixth day after today, Shanghai time.
        issued = datetime.datetime.fromisoformat(c["issued_at"])
        end = datetime.datetime.combine(issued.astimezone(SHANGHAI).date() + datetime.timedelta(days=7),
                                        datetime.time(0, 0), SHANGHAI)
        self.assertEqual(datetime.datetime.fromisoformat(c["valid_to"]), end)

        path = "/coupons/%s/redeem" % c["code"]
        first = self.call("POST", path, {"order_id": "POS-1"})
        self.assertEqual((first["state"], first["order_id"]), ("redeemed", "POS-1"))
        again = self.call("POST", path, {"order_id": "POS-1"})
        self.assertEqual(again, first, "the same order again: 200 and nothing changes")
        other = self.call("POST", path, {"order_id": "POS-2"}, expect=409)
        self.assertEqual(other["reason"], "already_redeemed")
        self.call("POST", "/coupons/NOSUCHCODE0000000/redeem", {"order_id": "POS-1"}, expect=404)
        bad = self.call("POST", path, {"order": "POS-1"}, expect=422)
        self.assertEqual(sorted(e["field"] for e in bad["errors"]), ["order", "order_id"])
        bad = self.call("POST", "/coupons", {"template_id": "1", "member": {"phone": "12"}, "x": 1}, expect=422)
        self.assertEqual(sorted(e["field"] for e in bad["errors"]), ["member.phone", "template_id", "x"])
        self.call("POST", "/coupons", {"template_id": 99, "member": {"phone": "13900000001"}}, expect=404)
        self.call("POST", "/coupons", {"template_id": t["id"], "member": {"phone": "13800000000"}}, expect=404)
        mine = self.call("GET", "/members/phone:13900000001/coupons")["coupons"]
        self.assertEqual([(x["code"], x["state"]) for x in mine], [(c["code"], "redeemed")])

    def test_orders_redeem_coupons_and_full_refunds_give_them_back(self):
        t = self.template(kind="no_threshold", threshold_fen=0, off_fen=800, restore_on_refund=True)
        mine, theirs = self.issue(t["id"], 5)["code"], self.issue(t["id"], 6)["code"]
        now = NOW  # paid when the coupons were issued
        order = {"type": "order", "order_id": "POS-77", "member": {"phone": "13900000005"},
                 "paid_at": now.isoformat(), "paid_fen": 6000, "coupons": [mine, theirs]}
        status, obj, _ = self.server.ingest("shop", [order])
        self.assertEqual((status, obj["accepted"]), (200, 0), obj)
        self.assertEqual(obj["rejected"][0]["errors"], [{"field": "coupons[1]", "reason": "belongs to another member"}])
        order["coupons"] = [mine]
        status, obj, _ = self.server.ingest("shop", [order])
        self.assertEqual((status, obj["accepted"]), (200, 1), obj)
        c = self.call("GET", "/coupons/%s" % mine)
        self.assertEqual((c["state"], c["order_id"]), ("redeemed", "POS-77"))
        refund = {"type": "refund", "refund_id": "RF-77", "order_id": "POS-77", "amount_fen": 6000,
                  "refunded_at": now.isoformat()}
        status, obj, _ = self.server.ingest("shop", [refund])
        self.assertEqual((status, obj["accepted"]), (200, 1), obj)
        self.assertEqual(self.call("GET", "/coupons/%s" % mine)["state"], "issued")

    def test_members_with_coupons_left_are_an_audience(self):
        # Valid through tomorrow: two days on from today's, none is left.
        t = self.template(kind="no_threshold", threshold_fen=0, off_fen=800, valid_days=2)
        codes = [self.issue(t["id"], i)["code"] for i in (1, 2, 3)]
        self.issue(t["id"], 3, headers={"Idempotency-Key": "second-for-3"})
        self.call("POST", "/coupons/%s/redeem" % codes[0], {"order_id": "POS-1"})

        def count(expr, expect=200):
            return self.call("POST", "/segments/count", {"expr": expr}, expect=expect)

        self.assertEqual(count("coupons.unused >= 1")["count"], 2)
        self.assertEqual(count("coupons.unused = 2")["count"], 1, "member 3 holds two")
        self.assertEqual(count("coupons.unused = 0")["count"], 38, "member 1 used hers; 37 never had one")
        bad = count("points >= 0 and coupons.unsed >= 1", expect=422)
        self.assertEqual(bad["position"], 17, bad)
        self.assertIn("coupons.unused", bad["expected"])
        self.server.restart()
        self.assertEqual(count("coupons.unused >= 1")["count"], 2)
        self.move("P2D")
        self.assertEqual(count("coupons.unused >= 1")["count"], 0)

    def test_bulk_issue_to_a_snapshot_once_a_member_within_stock(self):
        # The 40 members, all registered today; 25 in stock.
        snap = self.call("POST", "/segments/snapshots", {"name": "all", "expr": "registered_days >= 0"}, expect=201)
        self.assertEqual(snap["count"], 40)
        t = self.template(stock=25)
        first = self.call("POST", "/coupons/bulk", {"template_id": t["id"], "snapshot_id": snap["id"]})
        self.assertEqual((first["members"], first["issued"], first["already"], first["refused"]),
                         (40, 25, 0, {"out_of_stock": 15}))
        again = self.call("POST", "/coupons/bulk", {"template_id": t["id"], "snapshot_id": snap["id"]})
        self.assertEqual((again["issued"], again["already"], again["refused"]), (0, 25, {"out_of_stock": 15}))
        holders = sum(len(self.call("GET", "/members/phone:1390000%04d/coupons" % i)["coupons"]) for i in range(40))
        self.assertEqual(holders, 25)
        self.call("POST", "/coupons/bulk", {"template_id": t["id"], "snapshot_id": 999}, expect=404)
        bad = self.call("POST", "/coupons/bulk", {"template_id": 0}, expect=422)
        self.assertEqual(sorted(e["field"] for e in bad["errors"]), ["snapshot_id", "template_id"])

    def test_rules_give_coupons_after_payment(self):
        t = self.template(kind="discount", threshold_fen=0, off_fen=0, percent_off=12)
        rule = self.call("POST", "/coupon-rules", {"name": "支付后返券", "trigger": "post_payment", "template_id": t["id"],
                                                   "min_paid_fen": 3500, "payments": ["wechat_pay"]}, expect=201)
        self.assertEqual(self.call("GET", "/coupon-rules")["rules"], [rule])
        bad = self.call("POST", "/coupon-rules", {"name": "x", "trigger": "member_day", "template_id": t["id"],
                                                  "weekday": 0, "min_paid_fen": 1}, expect=422)
        self.assertEqual(sorted(e["field"] for e in bad["errors"]), ["min_paid_fen", "weekday"])
        self.call("POST", "/coupon-rules", {"name": "x", "trigger": "first_purchase", "template_id": 99}, expect=422)
        now = NOW
        orders = [{"type": "order", "order_id": "W-%d" % i, "member": {"phone": "13900000009"}, "payment": pay,
                   "paid_at": now.isoformat(), "paid_fen": fen}
                  for i, (pay, fen) in enumerate([("wechat_pay", 3499), ("alipay", 5000), ("wechat_pay", 3500)])]
        status, obj, _ = self.server.ingest("shop", orders)
        self.assertEqual((status, obj["accepted"]), (200, 3), obj)
        status, obj, _ = self.server.ingest("shop", orders)  # resent: duplicates give nothing more
        self.assertEqual(obj["duplicates"], 3, obj)
        got = self.call("GET", "/members/phone:13900000009/coupons")["coupons"]
        self.assertEqual([(c["template_id"], c["state"]) for c in got], [(t["id"], "issued")])
        self.server.restart()
        self.assertEqual(self.call("GET", "/coupon-rules")["rules"], [rule])

    def test_member_day_coupons_are_claimed_once_a_day_by_tier(self):
        today = NOW.isoweekday()
        small = self.template(name="会员日减6", off_fen=600, valid_days=1)
        gold = self.template(name="会员日减10", valid_days=1)
        other_day = self.template(name="明天", valid_days=1)
        for tmpl, tiers, weekday in ((small, ["standard"], today), (gold, ["gold"], today),
                                     (other_day, [], today % 7 + 1)):
            self.call("POST", "/coupon-rules", {"name": tmpl["name"], "trigger": "member_day", "template_id": tmpl["id"],
                                                "tiers": tiers, "weekday": weekday}, expect=201)
        first = self.call("POST", "/member-day/claims", {"member": {"phone": "13900000004"}}, expect=201)["coupons"]
        self.assertEqual([c["template_id"] for c in first], [small["id"]], "a standard member's rule of today only")
        again = self.call("POST", "/member-day/claims", {"member": {"phone": "13900000004"}}, expect=200)["coupons"]
        self.assertEqual([c["code"] for c in again], [first[0]["code"]], "once a day")
        self.call("POST", "/member-day/claims", {"member": {"phone": "13800000000"}}, expect=404)
        self.call("POST", "/member-day/claims", {"member": {"phone": "1"}}, expect=422)
        # The coupon is valid that day only; the next day brings the other rule.
        self.move("P1D")
        self.assertEqual(self.call("GET", "/coupons/%s" % first[0]["code"])["state"], "expired")
        tomorrow = self.call("POST", "/member-day/claims", {"member": {"phone": "13900000004"}}, expect=201)["coupons"]
        self.assertEqual([c["template_id"] for c in tomorrow], [other_day["id"]])
        self.move("P6D")
        week_later = self.call("POST", "/member-day/claims", {"member": {"phone": "13900000004"}}, expect=201)
        self.assertNotEqual(week_later["coupons"][0]["code"], first[0]["code"], "next week's is a new coupon")

    def move(self, duration):
        status, obj, _ = self.server.json("POST", "/api/v1/clock", {"advance": duration})
        self.assertEqual(status, 200, obj)

    def test_many_clients_at_once_never_beat_stock_or_limits(self):
        stock, members, tries = 7, 20, 3
        t = self.template(stock=stock, per_member_limit=1)
        results = []  # (member, status, reason)
        lock = threading.Lock()

        def claim(i):
            status, obj, _ = self.server.json("POST", self.base + "/coupons",
                                              {"template_id": t["id"], "member": {"phone": "1390000%04d" % i}})
            with lock:
                results.append((i, status, (obj or {}).get("reason")))

        threads = [threading.Thread(target=claim, args=(i % members,)) for i in range(members * tries)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=60)
        self.assertEqual(len(results), members * tries)
        won = [i for i, status, _ in results if status == 201]
        self.assertEqual(len(won), stock, "stock %d: exactly that many coupons" % stock)
        self.assertEqual(len(set(won)), stock, "one a member")
        self.assertTrue(all(status == 409 and reason in ("out_of_stock", "limit_reached")
                            for _, status, reason in results if status != 201), results)
        self.assertEqual(self.call("GET", "/coupon-templates/%d" % t["id"])["issued"], stock)

    def test_quote_names_the_best_combination_for_a_cart(self):
        status, obj, _ = self.server.ingest("shop", [
            {"type": "category", "id": "food", "name": "食品"},
            {"type": "category", "id": "snacks", "name": "零食", "parent": "food"},
            {"type": "product", "sku": "SKU-S", "name": "薯片", "category": "snacks", "price_fen": 1500},
        ])
        self.assertEqual((status, obj["accepted"]), (200, 3), obj)
        cash = self.template(name="满68减10")                                              # 10 yuan at 68
        food = self.template(name="食品满30减8", threshold_fen=3000, off_fen=800, scope={"categories": ["food"]},
                             stackable=True)
        small = self.template(name="无门槛3元", kind="no_threshold", threshold_fen=0, off_fen=300, stackable=True)
        far = self.template(name="满200减40", threshold_fen=20000, off_fen=4000)
        codes = {t["id"]: self.issue(t["id"], 3)["code"] for t in (cash, food, small, far)}
        # 45 yuan of snacks (food, through the product's category) and 30 of toys: 75 yuan.
        cart = {"member": {"phone": "13900000003"}, "store": "S001", "channel": "store",
                "items": [{"sku": "SKU-S", "paid_fen": 4500}, {"sku": "SKU-T", "category": "toys", "paid_fen": 3000}]}
        q = self.call("POST", "/coupons/quote", cart)
        gives = {o["template_id"]: o["gives_fen"] for o in q["offers"]}
        self.assertEqual(gives, {cash["id"]: 1000, food["id"]: 800, small["id"]: 300, far["id"]: 0})
        self.assertEqual([o.get("why_not") for o in q["offers"] if o["template_id"] == far["id"]], ["below threshold"])
        # Stacked 8 + 3 = 11 beats 10 alone.
        self.assertEqual((sorted(q["best"]["codes"]), q["best"]["gives_fen"]),
                         (sorted([codes[food["id"]], codes[small["id"]]]), 1100))
        self.call("POST", "/coupons/%s/redeem" % codes[food["id"]], {"order_id": "POS-Q"})
        q = self.call("POST", "/coupons/quote", cart)
        self.assertEqual((q["best"]["codes"], q["best"]["gives_fen"]), ([codes[cash["id"]]], 1000))
        bad = self.call("POST", "/coupons/quote", {"member": {"phone": "13900000003"},
                                                  "items": [{"sku": 5, "paid_fen": -1, "qty": 2}]}, expect=422)
        self.assertEqual(sorted(e["field"] for e in bad["errors"]),
                         ["items[0].paid_fen", "items[0].qty", "items[0].sku"])
        self.call("POST", "/coupons/quote", {"member": {"phone": "13800000000"}, "items": [{"paid_fen": 1}]},
                  expect=404)

    def test_holds_revokes_idempotency_and_restarts(self):
        t = self.template(per_day_limit=2)
        key = {"Idempotency-Key": "issue-7-a"}
        c = self.issue(t["id"], 7, headers=key)
        self.assertEqual(self.issue(t["id"], 7, headers=key)["code"], c["code"], "a replay gets the same coupon")
        c2 = self.issue(t["id"], 7)
        self.assertEqual(self.issue(t["id"], 7, expect=409)["reason"], "limit_reached")

        code = c["code"]
        held = self.call("POST", "/coupons/%s/lock" % code, {"order_id": "CART-1", "hold_seconds": 600})
        self.assertEqual((held["state"], held["order_id"]), ("locked", "CART-1"))
        self.assertEqual(self.call("POST", "/coupons/%s/redeem" % code, {"order_id": "CART-2"}, expect=409)["reason"],
                         "locked")
        self.assertEqual(self.call("POST", "/coupons/%s/unlock" % code, {"order_id": "CART-2"}, expect=409)["reason"],
                         "not_locked")
        self.call("POST", "/coupons/%s/unlock" % code, {"order_id": "CART-1"})
        self.call("POST", "/coupons/%s/redeem" % code, {"order_id": "CART-2"})
        self.call("POST", "/coupons/%s/revoke" % c2["code"], {})
        self.assertEqual(self.call("POST", "/coupons/%s/redeem" % c2["code"], {"order_id": "CART-3"},
                                   expect=409)["reason"], "revoked")

        before = self.call("GET", "/members/phone:13900000007/coupons")
        self.server.restart()
        self.assertEqual(self.call("GET", "/members/phone:13900000007/coupons"), before)
        # An acknowledged issue survives a crash right after.
        c3 = self.issue(self.template(name="加1元换购", kind="exchange", sku="SKU-9", exchange_price_fen=100,
                                      threshold_fen=0, off_fen=0, face_value_fen=1500)["id"], 8)
        self.server.kill()
        self.server.start()
        self.assertEqual(self.call("GET", "/coupons/%s" % c3["code"])["state"], "issued")
        self.assertEqual(self.call("POST", "/coupons/%s/redeem" % code, {"order_id": "CART-9"}, expect=409)["reason"],
                         "already_redeemed")


if __name__ == "__main__":
    unittest.main()
