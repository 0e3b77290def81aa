"""The clock tests can move (CONTRACT.md "Time that tests can move").

`pond serve --clock manual@T` stands still at T until POST /api/v1/clock
moves it; the answer comes only after every tenant ran what fell due, so a
member's lifecycle stage, points expiry and the like are what the moved clock
implies at once. Bad moves are 422 naming the field; a server on the system
clock answers the POST 404.
"""

import datetime
import unittest

from pond_server import PondTestCase, lifecycle_stage, ndjson

START = "2026-03-01T09:00:00+08:00"
SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


class ClockTest(PondTestCase):

    def call(self, server, method, path, body=None, expect=200):
        status, obj, _ = server.json(method, path, body)
        self.assertEqual(status, expect, obj)
        return obj

    def test_a_manual_clock_moves_only_when_told_and_runs_what_fell_due(self):
        data = self.make_tempdir() + "/data"
        server = self.start_server(data, extra_args=["--clock", "manual@" + START])
        self.assertEqual(self.call(server, "GET", "/api/v1/clock"), {"now": "2026-03-01T01:00:00+00:00", "mode": "manual"})
        self.create_tenant(server, "shop")
        paid = "2026-02-20T12:00:00+08:00"
        order = {"type": "order", "order_id": "O-1", "member": {"phone": "13900000001"}, "channel": "store",
                 "store": "S01", "paid_at": paid, "paid_fen": 9900,
                 "items": [{"sku": "SKU-1", "qty": 1, "paid_fen": 9900}]}
        status, body, _ = server.request("POST", "/api/v1/tenants/shop/events", ndjson([order]),
                                         {"content-type": "application/x-ndjson"})
        self.assertEqual(status, 200, body)
        paid_day = datetime.date(2026, 2, 20)

        def stage():
            return self.call(server, "GET", "/api/v1/tenants/shop/members/phone:13900000001")["lifecycle"]

        self.assertEqual(stage(), lifecycle_stage([paid_day], datetime.date(2026, 3, 1)))
        # Nothing moves by itself.
        self.assertEqual(self.call(server, "GET", "/api/v1/clock")["now"], "2026-03-01T01:00:00+00:00")

        moved = self.call(server, "POST", "/api/v1/clock", {"advance": "P100D"})
        self.assertEqual(moved, {"now": "2026-06-09T01:00:00+00:00", "mode": "manual"})
        self.assertEqual(stage(), lifecycle_stage([paid_day], datetime.date(2026, 6, 9)))
        self.assertEqual(stage(), "decline")
        moved = self.call(server, "POST", "/api/v1/clock", {"to": "2026-09-01T00:30:00+08:00"})
        self.assertEqual(moved["now"], "2026-08-31T16:30:00+00:00")
        self.assertEqual(stage(), lifecycle_stage([paid_day], datetime.date(2026, 9, 1)))
        self.assertEqual(stage(), "lost")

        for body, field in [({"advance": "P1Y"}, "advance"), ({"advance": "PT1.5S"}, "advance"),
                            ({"to": "2026-03-01T00:00:00Z"}, "to"), ({"to": "tomorrow"}, "to"),
                            ({"advance": "P1D", "to": "2027-01-01T00:00:00Z"}, "advance"), ({}, "advance"),
                            ({"advance": "P1D", "by": "me"}, "by")]:
            problem = self.call(server, "POST", "/api/v1/clock", body, expect=422)
            self.assertIn(field, [e["field"] for e in problem["errors"]], (body, problem))
        self.assertEqual(self.call(server, "GET", "/api/v1/clock")["now"], "2026-08-31T16:30:00+00:00",
                         "a refused move leaves the clock where it was")
        status, _, _ = server.request("POST", "/api/v1/clock", "not json", {"content-type": "application/json"})
        self.assertEqual(status, 400)

        # A restart starts from the instant its flag names, and what the day
        # runs recorded stands.
        server.stop()
        server = self.start_server(data, extra_args=["--clock", "manual@2026-09-02T09:00:00+08:00"])
        self.assertEqual(self.call(server, "GET", "/api/v1/clock")["now"], "2026-09-02T01:00:00+00:00")
        self.assertEqual(stage(), "lost")

    def test_the_system_clock_cannot_be_moved(self):
        server = self.start_server()
        clock = self.call(server, "GET", "/api/v1/clock")
        self.assertEqual(clock["mode"], "system")
        now = datetime.datetime.fromisoformat(clock["now"].replace("Z", "+00:00"))
        self.assertLess(abs((now - datetime.datetime.now(datetime.timezone.utc)).total_seconds()), 600)
        self.call(server, "POST", "/api/v1/clock", {"advance": "P1D"}, expect=404)

    def test_a_bad_clock_flag_is_refused_naming_it(self):
        for flag in ["sometimes", "manual@yesterday", "manual2026"]:
            data = self.make_tempdir() + "/data"
            from pond_server import run_pond
            p = run_pond(["serve", "--data", data, "--listen", "127.0.0.1:0", "--clock", flag], timeout=60)
            self.assertNotEqual(p.returncode, 0, flag)
            self.assertIn(b"--clock", p.stderr, flag)


if __name__ == "__main__":
    unittest.main()
