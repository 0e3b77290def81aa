"""End-to-end tests of loyalty over HTTP: growth, tiers, points, the ledger,
redemption and adjustment, the configuration endpoint, and that all of it
survives a restart. Expected values are computed here from CONTRACT.md's
rules and the events sent, not copied from answers.
"""

import datetime
import unittest
from zoneinfo import ZoneInfo

from pond_server import PondTestCase, lifecycle_stage

SHANGHAI = ZoneInfo("Asia/Shanghai")
RATES_BP = {"standard": 10000, "silver": 15000, "gold": 20000}  # points per yuan x 10000


def tier_for(growth, thresholds=(("standard", 0), ("silver", 3000), ("gold", 6000))):
    return [name for name, t in thresholds if growth >= t][-1]


class LoyaltyTest(PondTestCase):
    PHONE = "13900000042"

    def setUp(self):
        super().setUp()
        self.server = self.start_server()
        self.create_tenant(self.server, "shop")
        self.base = "/api/v1/tenants/shop"

    def call(self, method, path, body=None, expect=200):
        status, obj, _ = self.server.json(method, self.base + path, body)
        self.assertEqual(status, expect, obj)
        return obj

    def test_orders_refunds_points_and_restart(self):
        today = datetime.datetime.now(SHANGHAI).date()
        birthday = today - datetime.timedelta(days=40)  # an order falls on it this year
        ref = {"phone": self.PHONE}
        paid = [  # (days ago, fen): the second is the birthday
            (60, 250_00),
            (40, 100_00),
            (10, 80_00),
        ]
        events = [{"type": "member", "member": ref, "name": "李雷", "birthday": birthday.isoformat()}]
        for i, (ago, fen) in enumerate(paid):
            at = datetime.datetime.combine(today - datetime.timedelta(days=ago), datetime.time(12, 0), SHANGHAI)
            events.append({"type": "order", "order_id": "O%d" % i, "member": ref, "channel": "store",
                           "paid_at": at.isoformat(), "paid_fen": fen})
        events.append({"type": "refund", "refund_id": "RF1", "order_id": "O2", "amount_fen": 30_00,
                       "refunded_at": datetime.datetime.now(SHANGHAI).isoformat()})
        status, obj, _ = self.server.ingest("shop", events)
        self.assertEqual((status, obj["accepted"]), (200, len(events)), obj)

        # The model: rate of the tier held before each order, birthday doubles.
        growth, points, earned = 0, 0, []
        for i, (ago, fen) in enumerate(paid):
            rate = RATES_BP[tier_for(growth)] * (2 if ago == 40 else 1)
            earned.append((fen, rate))
            growth += fen // 10
            points += fen * rate // 1_000_000
        fen, rate = earned[2]
        net = fen - 30_00
        growth += net // 10 - fen // 10
        points += net * rate // 1_000_000 - fen * rate // 1_000_000
        dates = [today - datetime.timedelta(days=ago) for ago, _ in paid]

        m = self.server.json("GET", self.base + "/members/phone:" + self.PHONE)[1]
        self.assertEqual(m["growth"], growth)
        self.assertEqual(m["tier"], tier_for(growth))
        self.assertEqual(m["points"], {"balance": points})
        self.assertEqual(m["lifecycle"], lifecycle_stage(dates, today))

        view = self.call("GET", "/members/phone:%s/loyalty" % self.PHONE)
        self.assertEqual(view["points"]["balance"], points)
        # 250 yuan then 100: growth 2500 → 3500 crosses silver on the second order.
        self.assertEqual([(h["from"], h["to"], h["cause"]) for h in view["tier"]["history"]],
                         [("standard", "silver", "order")])
        self.assertEqual(sum(lot["points"] for lot in view["points"]["lots"]), points)
        kinds = [e["kind"] for e in view["ledger"]]
        self.assertEqual(kinds, ["reverse", "earn", "earn", "earn"])  # newest first
        self.assertEqual((view["ledger"][0]["refund_id"], view["ledger"][0]["order_id"]), ("RF1", "O2"))
        self.assertEqual([e["order_id"] for e in view["ledger"][1:]], ["O2", "O1", "O0"])
        self.assertEqual(sum(e["points"] for e in view["ledger"]), points)

        # Redeem: idempotent by redemption_id; short balances are 409 naming points.
        r = self.call("POST", "/members/phone:%s/points/redeem" % self.PHONE,
                      {"points": 100, "redemption_id": "GIFT-1"})
        self.assertEqual(r["balance"], points - 100)
        again = self.call("POST", "/members/phone:%s/points/redeem" % self.PHONE,
                          {"points": 100, "redemption_id": "GIFT-1"})
        self.assertEqual(again["balance"], points - 100)
        self.assertEqual(again["entry"]["seq"], r["entry"]["seq"])
        short = self.call("POST", "/members/phone:%s/points/redeem" % self.PHONE,
                          {"points": points, "redemption_id": "GIFT-2"}, expect=409)
        self.assertEqual([e["field"] for e in short["errors"]], ["points"])
        bad = self.call("POST", "/members/phone:%s/points/adjust" % self.PHONE, {"points": "5", "why": 1}, expect=422)
        self.assertEqual(sorted(e["field"] for e in bad["errors"]), ["points", "reason", "why"])
        bad = self.call("POST", "/members/phone:%s/points/redeem" % self.PHONE, {"points": -5, "redemption_id": ""},
                        expect=422)
        self.assertEqual(sorted(e["field"] for e in bad["errors"]), ["points", "redemption_id"])
        bad = self.call("GET", "/members/phone:%s/loyalty?ledger_limit=0&ledger_before=-1" % self.PHONE, expect=422)
        self.assertEqual(sorted(e["field"] for e in bad["errors"]), ["ledger_before", "ledger_limit"])
        self.call("POST", "/members/phone:%s/points/adjust" % self.PHONE, {"points": 7, "reason": "apology"})
        balance = points - 100 + 7

        before = self.call("GET", "/members/phone:%s/loyalty" % self.PHONE)
        self.assertEqual(before["points"]["balance"], balance)
        self.server.restart()
        after = self.call("GET", "/members/phone:%s/loyalty" % self.PHONE)
        # RFM is a daily snapshot that start-up recomputes from the data it
        # finds; everything else must be exactly as before.
        del before["rfm"], after["rfm"]
        self.assertEqual(after, before)

    def test_distributions_transitions_scheduler_and_entitlements(self):
        today = datetime.datetime.now(SHANGHAI).date()
        events = []
        # Three members: one who never bought (intro), one bought 10 days ago
        # (growth), one bought 100 days ago (decline); the last two silver+.
        events.append({"type": "member", "member": {"pos_id": "A"}, "birthday": today.isoformat()})
        for pos, ago, fen in (("B", 10, 400_00), ("C", 100, 700_00)):
            at = datetime.datetime.combine(today - datetime.timedelta(days=ago), datetime.time(12), SHANGHAI)
            events.append({"type": "order", "order_id": "O" + pos, "member": {"pos_id": pos}, "channel": "store",
                           "paid_at": at.isoformat(), "paid_fen": fen})
        status, obj, _ = self.server.ingest("shop", events)
        self.assertEqual((status, obj["accepted"]), (200, 3), obj)

        run = self.call("POST", "/scheduler/run")
        self.assertEqual(run["last_day"], today.isoformat())
        stages = {x["stage"]: x["members"] for x in self.call("GET", "/lifecycle")["stages"]}
        self.assertEqual(stages, {"intro": 1, "growth": 1, "mature": 0, "decline": 1, "lost": 0, "won_back": 0})
        tiers = {x["id"]: x["members"] for x in self.call("GET", "/loyalty/tiers")["tiers"]}
        self.assertEqual(tiers, {"standard": 1, "silver": 1, "gold": 1})  # growth 4000 and 7000

        # Imported history carries the dates it implies: C grew on the day it
        # bought and declined 91 days later; nothing moved today.
        def moves(since, until):
            got = self.call("GET", "/lifecycle/transitions?from=%s&to=%s" % (since.isoformat(), until.isoformat()))
            return sorted((t["from"], t["to"], t["count"]) for t in got["transitions"])
        self.assertEqual(moves(today - datetime.timedelta(days=100), today),
                         [("growth", "decline", 1), ("intro", "growth", 2)])
        self.assertEqual(moves(today - datetime.timedelta(days=9), today - datetime.timedelta(days=9)),
                         [("growth", "decline", 1)])
        self.assertEqual(moves(today, today), [])
        bad = self.call("GET", "/lifecycle/transitions?from=2026-13-01", expect=422)
        self.assertEqual(sorted(e["field"] for e in bad["errors"]), ["from", "to"])

        a = self.call("GET", "/members/pos:A/loyalty")
        self.assertTrue(a["entitlements"]["birthday"]["today"])
        self.assertEqual(a["entitlements"]["birthday"]["coupon_off_fen"], 800)
        wednesday = today + datetime.timedelta(days=(2 - today.weekday()) % 7)
        self.assertEqual(a["entitlements"]["member_day"]["next"], wednesday.isoformat())
        self.assertEqual(a["entitlements"]["member_day"]["off_fen"], 600)
        self.assertEqual(a["rfm"]["class"], "none")
        c = self.call("GET", "/members/pos:C/loyalty")
        self.assertEqual(c["entitlements"]["member_day"]["off_fen"], 1000)  # gold
        # Newest first: growth on the day C bought, decline 91 days later.
        self.assertEqual([h["to"] for h in c["lifecycle"]["history"]], ["decline", "growth"])
        # Two buyers: B is more recent, C spent more (each the better half).
        b = self.call("GET", "/members/pos:B/loyalty")
        self.assertEqual((b["rfm"]["r"] > c["rfm"]["r"], c["rfm"]["m"] > b["rfm"]["m"]), (True, True))

    def test_configuration_is_validated_applied_and_kept(self):
        config = self.call("GET", "/loyalty/config")
        self.assertEqual([t["id"] for t in config["tiers"]], ["standard", "silver", "gold"])
        self.assertEqual([t["threshold"] for t in config["tiers"]], [0, 3000, 6000])

        bad = dict(config, tiers=[dict(config["tiers"][0], threshold=5), dict(config["tiers"][1], threshold=-1)],
                   growth_per_yuan="ten")
        status, obj, _ = self.server.json("PUT", self.base + "/loyalty/config", bad)
        self.assertEqual(status, 422, obj)
        fields = {e["field"] for e in obj["errors"]}
        self.assertIn("growth_per_yuan", fields)
        self.assertIn("tiers[0].threshold", fields)

        ref = {"pos_id": "P-9"}
        status, obj, _ = self.server.ingest("shop", [{"type": "order", "order_id": "X1", "member": ref,
                                                      "channel": "store", "paid_at": "2026-06-01T12:00:00+08:00",
                                                      "paid_fen": 200_00}])
        self.assertEqual(status, 200, obj)
        self.assertEqual(self.server.json("GET", self.base + "/members/pos:P-9")[1]["tier"], "standard")

        # Silver from 1000 growth: the member (2000) moves up at once.
        config["tiers"][1]["threshold"] = 1000
        self.call("PUT", "/loyalty/config", config)
        self.assertEqual(self.server.json("GET", self.base + "/members/pos:P-9")[1]["tier"], "silver")
        self.server.restart()
        self.assertEqual(self.call("GET", "/loyalty/config")["tiers"][1]["threshold"], 1000)
        self.assertEqual(self.server.json("GET", self.base + "/members/pos:P-9")[1]["tier"], "silver")


if __name__ == "__main__":
    unittest.main()
