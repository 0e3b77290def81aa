"""End-to-end tests of what real data and careless clients do to Pond over
months (issue "Trustworthy under real use"): each test is one reproduction
from that report, run against the running server, with the answer a
demanding user expects.

Bounds and rules are those of docs/api.md "Limits and accepted ranges" and
docs/loyalty.md; expected figures are computed from those rules here, not
copied from answers.
"""

import datetime
import json
import unittest
from zoneinfo import ZoneInfo

import os
import time

from pond_server import PondTestCase, SharedServerTestCase, run_pond
from test_bad_input import order as order_event

SHANGHAI = ZoneInfo("Asia/Shanghai")
MAX_FEN = 10 ** 12
MAX_POINTS_PER_OPERATION = 10 ** 9


def order(order_id, phone, fen, paid_at, **extra):
    return order_event(order_id, phone, fen, paid_at.isoformat(), **extra)


class RealUseTest(SharedServerTestCase):
    TENANT = "real"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        status, _, raw = cls.server.request("POST", "/api/v1/tenants", {"id": cls.TENANT, "name": "Real"})
        assert status == 201, raw

    def call(self, method, path, body=None, expect=200):
        status, obj, _ = self.server.json(method, "/api/v1/tenants/%s%s" % (self.TENANT, path), body)
        self.assertEqual(status, expect, obj)
        return obj

    def fields(self, problem):
        return sorted(e["field"] for e in problem["errors"])

    def now(self):
        return datetime.datetime.now(SHANGHAI).replace(microsecond=0)

    def ingest(self, events):
        status, obj, _ = self.server.ingest(self.TENANT, events)
        self.assertEqual(status, 200, obj)
        return obj

    # 1. Points overflowed int64: 9e18 twice became a negative balance.
    def test_points_are_bounded_and_never_wrap(self):
        self.ingest([{"type": "member", "member": {"phone": "13700000001"}}])
        member = "/members/phone:13700000001"
        for _ in range(2):
            bad = self.call("POST", member + "/points/adjust", {"points": 9 * 10 ** 18, "reason": "a"}, expect=422)
            self.assertEqual(self.fields(bad), ["points"])
        self.call("POST", member + "/points/adjust", {"points": MAX_POINTS_PER_OPERATION, "reason": "a"})
        bad = self.call("POST", member + "/points/redeem",
                        {"points": MAX_POINTS_PER_OPERATION + 1, "redemption_id": "BIG"}, expect=422)
        self.assertEqual(self.fields(bad), ["points"])
        self.assertEqual(self.call("GET", member + "/loyalty")["points"]["balance"], MAX_POINTS_PER_OPERATION)
        self.assertEqual(self.call("POST", "/segments/count", {"expr": "points < 0"})["count"], 0)
        mall = {"kind": "points_mall", "sku": "GIFT", "points": 2 ** 63 - 1, "stock": 1,
                "starts_at": self.now().isoformat(), "ends_at": (self.now() + datetime.timedelta(days=1)).isoformat()}
        self.assertEqual(self.fields(self.call("POST", "/activities", mall, expect=422)), ["points"])

    # 2. A template of 2^63-1 fen made the report show -2.
    def test_amounts_are_bounded_and_report_sums_hold(self):
        template = {"name": "huge", "kind": "no_threshold", "off_fen": 2 ** 63 - 1, "valid_days": 7}
        self.assertEqual(self.fields(self.call("POST", "/coupon-templates", template, expect=422)), ["off_fen"])
        template["off_fen"] = MAX_FEN
        tid = self.call("POST", "/coupon-templates", template, expect=201)["id"]
        self.ingest([{"type": "member", "member": {"phone": "1370000010%d" % i}} for i in range(2)])
        for i in range(2):
            self.call("POST", "/coupons", {"template_id": tid, "member": {"phone": "1370000010%d" % i}}, expect=201)
        report = self.call("GET", "/reports/coupons")
        row = next(t for t in report["templates"] if t["template_id"] == tid)
        self.assertEqual(row["issued"]["face_value_fen"], 2 * MAX_FEN)
        sale = {"kind": "flash_sale", "sku": "S", "price_fen": MAX_FEN + 1, "stock": 1,
                "starts_at": self.now().isoformat(), "ends_at": (self.now() + datetime.timedelta(days=1)).isoformat()}
        self.assertEqual(self.fields(self.call("POST", "/activities", sale, expect=422)), ["price_fen"])

    # 3. An order paid long ago earned a lot that had expired; it could be spent.
    def test_points_already_dead_on_arrival_cannot_be_spent(self):
        old = datetime.datetime(2024, 3, 1, 12, tzinfo=SHANGHAI)  # lots end 2025-12-31 (default: the year after)
        self.assertEqual(self.ingest([order("DEAD-1", "13700000201", 50000, old)])["accepted"], 1)
        self.call("POST", "/scheduler/run")
        loyalty = self.call("GET", "/members/phone:13700000201/loyalty")
        self.assertEqual(loyalty["points"]["balance"], 0)
        kinds = [e["kind"] for e in loyalty["ledger"]]
        self.assertIn("expire", kinds)
        self.call("POST", "/members/phone:13700000201/points/redeem", {"points": 500, "redemption_id": "R-DEAD"},
                  expect=409)

    # 4. Times: year 9999, year 1, refunds before their order.
    def test_times_have_a_range_and_render_as_rfc3339(self):
        far = order("T-9999", "13700000301", 100, datetime.datetime(2026, 1, 1, tzinfo=SHANGHAI))
        far["paid_at"] = "9999-12-31T23:59:59+08:00"
        year1 = dict(far, order_id="T-1", paid_at="0001-01-01T00:00:00+08:00")
        tomorrow_plus = dict(far, order_id="T-FUT", paid_at=(self.now() + datetime.timedelta(days=2)).isoformat())
        answer = self.ingest([far, year1, tomorrow_plus])
        self.assertEqual(answer["accepted"], 0)
        self.assertEqual([[e["field"] for e in r["errors"]] for r in answer["rejected"]],
                         [["paid_at"], ["paid_at"], ["paid_at"]])
        paid = self.now() - datetime.timedelta(days=1)
        refund_early = {"type": "refund", "refund_id": "RF-EARLY", "order_id": "T-OK", "amount_fen": 10,
                        "refunded_at": (paid - datetime.timedelta(days=400)).isoformat()}
        answer = self.ingest([order("T-OK", "13700000301", 100, paid), refund_early])
        self.assertEqual(answer["accepted"], 1)
        self.assertEqual([e["field"] for e in answer["rejected"][0]["errors"]], ["refunded_at"])
        self.assertEqual(self.call("POST", "/segments/count", {"expr": "last_order_days < 0"})["count"], 0)
        # Every time the member shows parses as RFC 3339 with a whole-minute offset.
        loyalty = self.call("GET", "/members/phone:13700000301/loyalty")
        times = [lot["expires_at"] for lot in loyalty["points"]["lots"]]
        times += [e[k] for e in loyalty["ledger"] for k in ("at", "expires_at") if k in e]
        self.assertTrue(times)
        for t in times:
            self.assertRegex(t, r"^20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d$")
            datetime.datetime.fromisoformat(t)

    # 6. Unknown things passed silently.
    def test_unknown_parameters_and_fields_are_named(self):
        bad = self.call("GET", "/members?limit=3&tier=gold", expect=422)
        self.assertEqual(self.fields(bad), ["tier"])
        self.assertEqual(self.fields(self.call("GET", "/members/1?reveal=email", expect=422)), ["reveal"])
        answer = self.ingest([{"type": "member", "member": {"phone": "13700000401"}, "nmae": "王小明"}])
        self.assertEqual(answer["accepted"], 0)
        self.assertEqual([e["field"] for e in answer["rejected"][0]["errors"]], ["nmae"])
        status, problem, _ = self.server.json("POST", "/api/v1/tenants", {"id": "typo", "nmae": "Typo"})
        self.assertEqual((status, self.fields(problem)), (422, ["nmae"]))
        self.assertEqual(self.server.json("GET", "/api/v1/tenants/typo")[0], 404)

    def test_a_partial_loyalty_document_is_refused_or_patched(self):
        before = self.call("GET", "/loyalty/config")
        refused = self.call("PUT", "/loyalty/config", {}, expect=422)
        self.assertIn("tiers", self.fields(refused))
        self.assertEqual(self.call("GET", "/loyalty/config"), before)  # nothing reset
        patched = self.call("PATCH", "/loyalty/config", {"expiring_soon_days": 14})
        self.assertEqual(patched, dict(before, expiring_soon_days=14))
        self.call("PATCH", "/loyalty/config", {"expiring_soon_days": before["expiring_soon_days"]})
        self.assertEqual(self.call("PUT", "/loyalty/config", before), before)

    # 7. One rule, applied once.
    def test_one_rule_for_ids_bodies_404s_and_categories(self):
        tid = self.call("POST", "/coupon-templates", {"name": "满68减10", "kind": "cash_off", "threshold_fen": 6800,
                                                       "off_fen": 1000, "valid_days": 7}, expect=201)["id"]
        self.ingest([{"type": "member", "member": {"phone": "13700000501"}}])
        code = self.call("POST", "/coupons", {"template_id": tid, "member": {"phone": "13700000501"}},
                         expect=201)["code"]
        for bad_id in ("a\nb", "x" * 65, ""):
            for verb in ("redeem", "lock"):
                problem = self.call("POST", "/coupons/%s/%s" % (code, verb), {"order_id": bad_id}, expect=422)
                self.assertEqual(self.fields(problem), ["order_id"])
        for path in ("/coupons", "/coupon-templates", "/activities", "/segments/count", "/tags"):
            status, problem, _ = self.server.json("POST", "/api/v1/tenants/%s%s" % (self.TENANT, path), "{nope")
            self.assertEqual(status, 400, (path, problem))
        status, problem, _ = self.server.json("POST", "/api/v1/tenants", "{nope")
        self.assertEqual(status, 400, problem)
        missing = self.call("POST", "/coupons", {"template_id": tid, "member": {"phone": "13799999999"}}, expect=404)
        self.assertEqual(self.fields(missing), ["member"])
        answer = self.ingest([{"type": "category", "id": "a", "parent": "b"},
                              {"type": "category", "id": "b", "parent": "a"}])
        self.assertEqual(answer["accepted"], 1)
        self.assertEqual([e["field"] for e in answer["rejected"][0]["errors"]], ["parent"])

    # 8. A coupon's terms were never checked at redemption.
    def test_redemption_checks_the_terms(self):
        tid = self.call("POST", "/coupon-templates", {"name": "满68减10", "kind": "cash_off", "threshold_fen": 6800,
                                                       "off_fen": 1000, "valid_days": 7}, expect=201)["id"]
        self.ingest([{"type": "member", "member": {"phone": "13700000601"}}])

        def issue():
            return self.call("POST", "/coupons", {"template_id": tid, "member": {"phone": "13700000601"}},
                             expect=201)["code"]
        short = self.call("POST", "/coupons/%s/redeem" % issue(), {"order_id": "O-SHORT", "paid_fen": 5000},
                          expect=409)
        self.assertEqual((short["reason"], self.fields(short)), ("terms_not_met", ["paid_fen"]))
        self.call("POST", "/coupons/%s/redeem" % issue(),
                  {"order_id": "O-CART", "items": [{"sku": "A", "paid_fen": 7000}]})
        # Without a cart: accepted, then checked when the order arrives.
        blind = issue()
        self.call("POST", "/coupons/%s/redeem" % blind, {"order_id": "O9"})
        report = self.call("GET", "/reports/coupons")
        row = next(t for t in report["templates"] if t["template_id"] == tid)
        self.assertEqual((row["unchecked"]["count"], row["violated"]["count"]), (1, 0))
        self.ingest([order("O9", "13700000601", 3000, self.now() - datetime.timedelta(minutes=5))])
        report = self.call("GET", "/reports/coupons")
        row = next(t for t in report["templates"] if t["template_id"] == tid)
        self.assertEqual((row["unchecked"]["count"], row["violated"]["count"]), (0, 1))
        self.assertEqual(row["redeemed"]["count"], 2)
        # An order already known is checked at once: 30 yuan paid is no 满68.
        refused = self.call("POST", "/coupons/%s/redeem" % issue(), {"order_id": "O9"}, expect=409)
        self.assertEqual(refused["reason"], "terms_not_met")
        # After a restart the report says the same.
        row = next(t for t in self.call("GET", "/reports/coupons")["templates"] if t["template_id"] == tid)
        self.server.restart()
        again = next(t for t in self.call("GET", "/reports/coupons")["templates"] if t["template_id"] == tid)
        self.assertEqual(again, row)


    # 10. Operations needed downtime.
    def test_keys_are_made_and_revoked_on_a_running_server(self):
        status, made, _ = self.server.json("POST", "/api/v1/keys", {"tenant": self.TENANT, "role": "analyst"})
        self.assertEqual(status, 201, made)
        self.assertTrue(made["key"].startswith("pond_%s_" % made["id"]))
        bearer = {"Authorization": "Bearer " + made["key"]}
        member_list = "/api/v1/tenants/%s/members?limit=1" % self.TENANT
        self.assertEqual(self.server.json("GET", member_list, headers=bearer)[0], 200)
        listed = self.server.json("GET", "/api/v1/keys")[1]["keys"]
        self.assertIn(made["id"], [k["id"] for k in listed])
        self.assertNotIn(made["key"], json.dumps(listed))  # a secret is answered once, never listed
        status, problem, _ = self.server.json("POST", "/api/v1/keys", {"tenant": "nosuch", "role": "analyst"})
        self.assertEqual((status, self.fields(problem)), (422, ["tenant"]))
        self.assertEqual(self.server.request("DELETE", "/api/v1/keys/" + made["id"])[0], 204)
        self.assertEqual(self.server.json("GET", member_list, headers=bearer)[0], 401)
        self.assertEqual(self.server.json("DELETE", "/api/v1/keys/" + made["id"])[0], 404)

    def test_templates_retire_rules_deactivate_activities_cancel(self):
        tid = self.call("POST", "/coupon-templates", {"name": "退役", "kind": "no_threshold", "off_fen": 100,
                                                       "valid_days": 7}, expect=201)["id"]
        self.ingest([{"type": "member", "member": {"phone": "13700000701"}}])
        kept = self.call("POST", "/coupons", {"template_id": tid, "member": {"phone": "13700000701"}}, expect=201)
        self.assertIn("retired_at", self.call("POST", "/coupon-templates/%d/retire" % tid))
        refused = self.call("POST", "/coupons", {"template_id": tid, "member": {"phone": "13700000701"}}, expect=409)
        self.assertEqual(refused["reason"], "retired")
        self.assertEqual(self.call("GET", "/coupons/" + kept["code"])["state"], "issued")  # issued ones stay
        # A points-mall exchange for it is refused before any point is spent.
        self.call("POST", "/members/phone:13700000701/points/adjust", {"points": 50, "reason": "gift"})
        mall = self.call("POST", "/activities", {"kind": "points_mall", "name": "兑券", "points": 10, "stock": 5,
                                                  "template_id": tid, "starts_at": self.now().isoformat(),
                                                  "ends_at": (self.now() + datetime.timedelta(days=1)).isoformat()},
                         expect=201)
        exchange = self.call("POST", "/activities/%d/claims" % mall["id"], {"member": {"phone": "13700000701"}},
                             expect=409)
        self.assertEqual(exchange["reason"], "retired")
        self.assertEqual(self.call("GET", "/members/phone:13700000701/loyalty")["points"]["balance"], 50)
        rule = self.call("POST", "/coupon-rules", {"name": "r", "trigger": "post_payment", "template_id": tid},
                         expect=201)
        self.assertFalse(self.call("POST", "/coupon-rules/%d/deactivate" % rule["id"])["active"])
        self.assertTrue(self.call("POST", "/coupon-rules/%d/activate" % rule["id"])["active"])
        self.call("POST", "/coupon-rules/999/deactivate", expect=404)
        start = self.now() - datetime.timedelta(minutes=1)
        sale = self.call("POST", "/activities", {"kind": "flash_sale", "sku": "S", "price_fen": 100, "stock": 10,
                                                  "starts_at": start.isoformat(),
                                                  "ends_at": (start + datetime.timedelta(days=1)).isoformat()},
                         expect=201)
        self.call("POST", "/activities/%d/claims" % sale["id"], {"member": {"phone": "13700000701"}}, expect=201)
        cancelled = self.call("POST", "/activities/%d/cancel" % sale["id"])
        self.assertIn("cancelled_at", cancelled)
        ended = self.call("POST", "/activities/%d/claims" % sale["id"], {"member": {"phone": "13700000701"}},
                          expect=409)
        self.assertEqual(ended["reason"], "ended")
        self.assertEqual(self.call("GET", "/activities/%d" % sale["id"])["report"]["taken"], 1)
        self.server.restart()
        self.assertIn("retired_at", self.call("GET", "/coupon-templates/%d" % tid))
        self.assertEqual(self.call("GET", "/activities/%d" % sale["id"])["cancelled_at"], cancelled["cancelled_at"])

    def test_a_tenant_is_deleted_on_confirmation_with_all_its_data(self):
        self.assertEqual(self.server.request("POST", "/api/v1/tenants", {"id": "gone"})[0], 201)
        status, obj, _ = self.server.ingest("gone", [{"type": "member", "member": {"phone": "13700000901"}}])
        self.assertEqual((status, obj["accepted"]), (200, 1))
        status, problem, _ = self.server.json("DELETE", "/api/v1/tenants/gone")
        self.assertEqual((status, self.fields(problem)), (422, ["confirm"]))
        self.assertEqual(self.server.json("DELETE", "/api/v1/tenants/gone?confirm=other")[0], 422)
        self.assertEqual(self.server.json("GET", "/api/v1/tenants/gone/members/1")[0], 200)
        self.assertEqual(self.server.request("DELETE", "/api/v1/tenants/gone?confirm=gone")[0], 204)
        self.assertEqual(self.server.json("GET", "/api/v1/tenants/gone")[0], 404)
        self.assertIn("tenant deleted", self.server.log_text())  # the audit line
        self.server.restart()
        self.assertEqual(self.server.json("GET", "/api/v1/tenants/gone")[0], 404)
        # The id can be used again, and the new tenant starts empty.
        self.assertEqual(self.server.request("POST", "/api/v1/tenants", {"id": "gone"})[0], 201)
        self.assertEqual(self.server.json("GET", "/api/v1/tenants/gone/members/1")[0], 404)


class OperationsCliTest(PondTestCase):
    def test_keys_beside_a_running_server_and_tenants_for_offline_imports(self):
        data = os.path.join(self.make_tempdir(), "data")
        made = run_pond(["tenants", "create", "--data", data, "--id", "offline", "--timezone", "Asia/Shanghai"])
        self.assertEqual(made.returncode, 0, made.stderr)
        events = os.path.join(os.path.dirname(data), "e.ndjson")
        with open(events, "w") as f:
            f.write(json.dumps({"type": "member", "member": {"phone": "13700000801"}}) + "\n")
        imported = run_pond(["import", "--data", data, "--tenant", "offline", events])
        self.assertEqual(imported.returncode, 0, imported.stderr)
        server = self.start_server(data)
        unknown = run_pond(["keys", "create", "--data", data, "--tenant", "nosuch", "--role", "analyst"])
        self.assertNotEqual(unknown.returncode, 0)
        self.assertIn(b"--tenant", unknown.stderr)
        created = run_pond(["keys", "create", "--data", data, "--tenant", "offline", "--role", "analyst"])
        self.assertEqual(created.returncode, 0, created.stderr)
        key = created.stdout.decode().strip()
        bearer = {"Authorization": "Bearer " + key}
        member = "/api/v1/tenants/offline/members/phone:13700000801"
        self.assertEqual(server.json("GET", member, headers=bearer)[0], 200)
        revoked = run_pond(["keys", "revoke", "--data", data, "--id", key.split("_")[1]])
        self.assertEqual(revoked.returncode, 0, revoked.stderr)
        deadline = time.monotonic() + 10  # the server re-reads its keys every few seconds
        while server.json("GET", member, headers=bearer)[0] != 401:
            self.assertLess(time.monotonic(), deadline, "a revoked key still works")
            time.sleep(0.2)
        if not os.environ.get("POND_TEST_PG_URL_FILE"):  # PostgreSQL has no directory to own: nodes share it
            busy = run_pond(["tenants", "create", "--data", data, "--id", "second"])
            self.assertNotEqual(busy.returncode, 0)
            self.assertIn(b"POST /api/v1/tenants", busy.stderr)


if __name__ == "__main__":
    unittest.main()
