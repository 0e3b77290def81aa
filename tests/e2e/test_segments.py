"""End-to-end tests of segment counting over HTTP (CONTRACT.md "Segments"):
counts agree with a brute-force evaluation of the same question over the
events sent, before and after a restart, and bad expressions are answered 422
with the position and the reason.
"""

import datetime
import time
import unittest
from zoneinfo import ZoneInfo

from pond_server import PondTestCase

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAYS_AGO = [3, 40, 100, 400]  # member i has the first i % 5 of these orders


class SegmentsTest(PondTestCase):
    def setUp(self):
        super().setUp()
        self.server = self.start_server()
        self.create_tenant(self.server, "shop")
        self.today = datetime.datetime.now(SHANGHAI).date()
        self.members = []
        events = []
        for i in range(1, 41):
            m = {
                "phone": "1390000%04d" % i,
                "city": "深圳" if i % 3 == 0 else "上海",
                "gender": "female" if i % 2 == 0 else "male",
                "home_store": "S00%d" % (i % 4),
                "orders": [],
            }
            events.append({"type": "member", "member": {"phone": m["phone"]}, "city": m["city"],
                           "gender": m["gender"], "home_store": m["home_store"]})
            for k, ago in enumerate(DAYS_AGO[: i % 5]):
                paid_at = datetime.datetime.combine(self.today - datetime.timedelta(days=ago),
                                                    datetime.time(12, 0), SHANGHAI)
                category = "food" if k == 0 else "beauty"
                fen = 50_00 * (k + 1)
                m["orders"].append((ago, fen, category))
                events.append({"type": "order", "order_id": "O-%d-%d" % (i, k), "member": {"phone": m["phone"]},
                               "channel": "store", "store": "S001", "paid_at": paid_at.isoformat(),
                               "paid_fen": fen, "items": [{"sku": "SKU-%d" % k, "category": category,
                                                           "qty": 1, "paid_fen": fen}]})
            self.members.append(m)
        status, body, _ = self.server.ingest("shop", events)
        self.assertEqual(status, 200, body)

    def count(self, expr, expect=200):
        status, obj, _ = self.server.json("POST", "/api/v1/tenants/shop/segments/count", {"expr": expr})
        self.assertEqual(status, expect, obj)
        return obj

    def expected(self, keep):
        return sum(1 for m in self.members if keep(m))

    def questions(self):
        def orders_within(m, days):
            return [o for o in m["orders"] if o[0] < days]

        return [
            ('city = "深圳"', lambda m: m["city"] == "深圳"),
            ('city != "深圳" and gender = "female"', lambda m: m["city"] != "深圳" and m["gender"] == "female"),
            ("orders_365d >= 2 and last_order_days <= 60",
             lambda m: len(orders_within(m, 365)) >= 2 and bool(m["orders"]) and min(o[0] for o in m["orders"]) <= 60),
            ('bought("beauty", 90) and not bought("food", 30)',
             lambda m: any(o[2] == "beauty" for o in orders_within(m, 90))
             and not any(o[2] == "food" for o in orders_within(m, 30))),
            ("spend_365d between 100 and 300",
             lambda m: 100_00 <= sum(o[1] for o in orders_within(m, 365)) <= 300_00),
            ('home_store in ("S001", "S002") or orders_30d = 0',
             lambda m: m["home_store"] in ("S001", "S002") or not orders_within(m, 30)),
            ("last_order_days > 1000", lambda m: False),
        ]

    def test_counts_match_a_brute_force_evaluation_and_survive_a_restart(self):
        for expr, keep in self.questions():
            start = time.monotonic()
            got = self.count(expr)
            elapsed_ms = (time.monotonic() - start) * 1000
            self.assertEqual(got["count"], self.expected(keep), expr)
            # The server's own time for the question: a number within the
            # round trip the client saw.
            self.assertIsInstance(got["took_ms"], (int, float), expr)
            self.assertTrue(0 <= got["took_ms"] <= elapsed_ms, (expr, got["took_ms"], elapsed_ms))
        self.server.restart()
        for expr, keep in self.questions():
            self.assertEqual(self.count(expr)["count"], self.expected(keep), expr + " after restart")
        # Beauty was bought 40 days ago at the latest; once food is filed under
        # beauty, bought("beauty", 10) counts the food bought 3 days ago too.
        self.assertEqual(self.count('bought("beauty", 10)')["count"], 0)
        status, body, _ = self.server.ingest("shop", [{"type": "category", "id": "beauty", "name": "美妆", "parent": ""},
                                                      {"type": "category", "id": "food", "name": "食品",
                                                       "parent": "beauty"}])
        self.assertEqual(status, 200, body)
        self.assertEqual(self.count('bought("beauty", 10)')["count"], self.expected(lambda m: bool(m["orders"])))

    def test_samples_are_matching_members_reproducible_by_seed(self):
        # Members were created in the order sent: member i has id i.
        shenzhen = {i + 1 for i, m in enumerate(self.members) if m["city"] == "深圳"}
        path = "/api/v1/tenants/shop/segments/sample"
        status, first, _ = self.server.json("POST", path, {"expr": 'city = "深圳"', "size": 5, "seed": 7})
        self.assertEqual(status, 200, first)
        self.assertEqual(first["count"], len(shenzhen))
        self.assertEqual(len(first["member_ids"]), 5)
        self.assertLessEqual(set(first["member_ids"]), shenzhen)
        _, again, _ = self.server.json("POST", path, {"expr": 'city = "深圳"', "size": 5, "seed": 7})
        self.assertEqual(again["member_ids"], first["member_ids"])
        _, everyone, _ = self.server.json("POST", path, {"expr": 'city = "深圳"', "size": 1000})
        self.assertEqual(set(everyone["member_ids"]), shenzhen)
        for body in [{"expr": "points > 0", "size": 0}, {"expr": "points > 0", "seed": -1},
                     {"expr": "points > 0", "size": "5"}]:
            status, obj, _ = self.server.json("POST", path, body)
            self.assertEqual(status, 422, obj)
        # The index reports its memory.
        status, _, metrics = self.server.request("GET", "/metrics")
        line = [l for l in metrics.decode().splitlines()
                if l.startswith('pond_segment_index_bytes_per_member{tenant="shop"}')]
        self.assertEqual(len(line), 1, metrics)
        self.assertGreater(int(line[0].split()[-1]), 0)

    def test_bad_expressions_are_422_with_position_and_reason(self):
        cases = [
            ('city = "深圳" and', 'and'),       # nothing after `and`
            ('teir = "gold"', "teir"),          # unknown field
            ('tier = "platinum"', "platinum"),  # a tier the tenant does not have
            ("(orders_30d > 1", "("),           # unclosed parenthesis
        ]
        for expr, mentioned in cases:
            obj = self.count(expr, expect=422)
            self.assertIsInstance(obj.get("position"), int, obj)
            self.assertGreaterEqual(obj["position"], 1, obj)
            self.assertLessEqual(obj["position"], len(expr) + 1, obj)
            self.assertEqual(obj["errors"][0]["field"], "expr", obj)
            self.assertTrue(obj["detail"], obj)
        # The unknown tier is pointed at where its value starts.
        obj = self.count('tier = "platinum"', expect=422)
        self.assertEqual(obj["position"], len('tier = ') + 1, obj)
        for body in [b"not json", b'{"expr": 5}', b"{}", b'{"expr": "city = \\"x\\"", "extra": 1}']:
            status, _, data = self.server.request("POST", "/api/v1/tenants/shop/segments/count", body)
            self.assertIn(status, (400, 422), data)
        self.assert_healthy(self.server)


if __name__ == "__main__":
    unittest.main()
