"""Bad input: every case answered with a clear 4xx (or a per-line rejection
in a 200 batch answer) that names the field; nothing half-applied; the
server stays up (/healthz after each case).
"""

import json
import os
import socket
import unittest

from pond_server import PondTestCase, SharedServerTestCase, ndjson

PROBLEM_KEYS = {"type", "title", "status", "detail", "errors"}


def order(order_id, phone, paid_fen=1000, paid_at="2026-03-04T19:20:00+08:00", **extra):
    e = {"type": "order", "order_id": order_id, "member": {"phone": phone}, "channel": "store",
         "paid_at": paid_at, "paid_fen": paid_fen}
    e.update(extra)
    return e


class BadInputTest(SharedServerTestCase):
    temp_prefix = "pond-e2e-bad-"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        status, obj, _ = cls.server.json("POST", "/api/v1/tenants", {"id": "bad", "name": "Bad input"})
        assert status == 201, obj

    T = "bad"
    EVENTS = "/api/v1/tenants/bad/events"

    # -- helpers -------------------------------------------------------------

    def tearDown(self):
        self.assert_healthy(self.server)

    def assert_problem(self, status, hdrs, raw, expect_status, fields=None):
        self.assertEqual(status, expect_status, raw)
        self.assertEqual(hdrs.get("content-type"), "application/problem+json")
        obj = json.loads(raw)
        self.assertTrue(PROBLEM_KEYS <= set(obj), obj)
        self.assertEqual(obj["status"], expect_status)
        self.assertIsInstance(obj["title"], str)
        self.assertTrue(obj["title"])
        self.assertIsInstance(obj["detail"], str)
        self.assertTrue(obj["detail"])
        for e in obj["errors"]:
            self.assertEqual(set(e), {"field", "reason"}, e)
            self.assertTrue(e["reason"])
        if fields is not None:
            self.assertEqual(sorted(e["field"] for e in obj["errors"]), sorted(fields), obj)
        return obj

    def member(self, ref):
        status, obj, _ = self.server.json("GET", "/api/v1/tenants/%s/members/%s" % (self.T, ref))
        self.assertIn(status, (200, 404), obj)
        return obj if status == 200 else None

    def post_lines(self, lines):
        """POSTs raw ndjson lines (str or bytes); returns the 200 batch answer."""
        body = b"".join((l if isinstance(l, bytes) else l.encode("utf-8")) + b"\n" for l in lines)
        status, hdrs, raw = self.server.request("POST", self.EVENTS, body, {"Content-Type": "application/x-ndjson"})
        self.assertEqual(status, 200, raw)
        return json.loads(raw)

    def assert_one_rejected(self, answer, line, field, accepted, reason_has=None):
        self.assertEqual(answer["accepted"], accepted, answer)
        self.assertEqual(answer["duplicates"], 0, answer)
        self.assertEqual(len(answer["rejected"]), 1, answer)
        r = answer["rejected"][0]
        self.assertEqual(r["line"], line)
        self.assertIn(field, [e["field"] for e in r["errors"]], r)
        for e in r["errors"]:
            self.assertTrue(e["reason"], r)
        if reason_has:
            reasons = " ".join(e["reason"] for e in r["errors"] if e["field"] == field)
            self.assertIn(reason_has, reasons)
        return r

    # -- per-line rejections: good lines applied, bad ones not ----------------

    def test_malformed_json_line_names_the_line(self):
        answer = self.post_lines([json.dumps(order("MJ-1", "13100000001", 100)),
                                  '{"type":"order","order_id":"MJ-2",',
                                  json.dumps(order("MJ-3", "13100000003", 300))])
        r = self.assert_one_rejected(answer, line=2, field="", accepted=2)
        self.assertIn("malformed JSON", r["errors"][0]["reason"])
        self.assertEqual(self.member("phone:13100000001")["orders"]["paid_fen"], 100)
        self.assertEqual(self.member("phone:13100000003")["orders"]["paid_fen"], 300)

    def test_blank_lines_count_in_line_numbers(self):
        answer = self.post_lines([json.dumps(order("BL-1", "13100000011", 100)), "", "not json",
                                  json.dumps(order("BL-2", "13100000012", 200))])
        self.assert_one_rejected(answer, line=3, field="", accepted=2)

    def test_paid_fen_as_string(self):
        answer = self.post_lines([json.dumps(order("WT-1", "13100000021", "6800"))])
        self.assert_one_rejected(answer, line=1, field="paid_fen", accepted=0, reason_has="integer")
        self.assertIsNone(self.member("phone:13100000021"))  # no member created by a rejected order

    def test_fractional_and_huge_amounts(self):
        answer = self.post_lines([json.dumps(order("FR-1", "13100000022", 68.5)),
                                  '{"type":"order","order_id":"FR-2","member":{"phone":"13100000023"},'
                                  '"paid_at":"2026-03-04T19:20:00+08:00","paid_fen":1e30}'])
        self.assertEqual(answer["accepted"], 0)
        self.assertEqual([(r["line"], [e["field"] for e in r["errors"]]) for r in answer["rejected"]],
                         [(1, ["paid_fen"]), (2, ["paid_fen"])])

    def test_missing_identity(self):
        answer = self.post_lines([json.dumps(dict(order("MI-1", "x"), member={})),
                                  json.dumps({"type": "member", "member": {}, "name": "无名"}),
                                  json.dumps({"type": "order", "order_id": "MI-3", "paid_fen": 1,
                                              "paid_at": "2026-03-04T19:20:00+08:00"})])
        self.assertEqual(answer["accepted"], 0)
        self.assertEqual([r["line"] for r in answer["rejected"]], [1, 2, 3])
        for r in answer["rejected"]:
            self.assertEqual([e["field"] for e in r["errors"]], ["member"], r)

    def test_misspelt_identity_is_named(self):
        answer = self.post_lines([json.dumps(dict(order("MS-1", "x"), member={"phnoe": "13100000031"}))])
        self.assert_one_rejected(answer, line=1, field="member.phnoe", accepted=0)
        answer = self.post_lines([json.dumps(dict(order("MS-2", "x"), member={"phone": "12345"}))])
        self.assert_one_rejected(answer, line=1, field="member.phone", accepted=0)

    def test_items_that_do_not_add_up(self):
        items = [{"sku": "A", "qty": 1, "paid_fen": 3000}, {"sku": "B", "qty": 2, "paid_fen": 3000}]
        answer = self.post_lines([json.dumps(order("IS-1", "13100000041", 6800, items=items)),
                                  json.dumps(order("IS-2", "13100000042", 6000, items=items))])
        self.assert_one_rejected(answer, line=1, field="items", accepted=1, reason_has="6000")
        self.assertIsNone(self.member("phone:13100000041"))
        self.assertEqual(self.member("phone:13100000042")["orders"]["paid_fen"], 6000)

    def test_bad_item_fields_are_named_by_index(self):
        items = [{"sku": "A", "qty": 1, "paid_fen": 3400}, {"sku": "B", "qty": 0, "paid_fen": 3400}]
        answer = self.post_lines([json.dumps(order("IQ-1", "13100000043", 6800, items=items))])
        self.assert_one_rejected(answer, line=1, field="items[1].qty", accepted=0, reason_has="> 0")

    def test_negative_amounts(self):
        answer = self.post_lines([json.dumps(order("NG-1", "13100000051", -100)),
                                  json.dumps(order("NG-2", "13100000052", 500))])
        self.assert_one_rejected(answer, line=1, field="paid_fen", accepted=1, reason_has=">= 0")
        self.assertIsNone(self.member("phone:13100000051"))
        for amount in (-1, 0):
            answer = self.post_lines([json.dumps({"type": "refund", "refund_id": "NG-R%d" % amount,
                                                  "order_id": "NG-2", "amount_fen": amount,
                                                  "refunded_at": "2026-03-05T10:00:00+08:00"})])
            self.assert_one_rejected(answer, line=1, field="amount_fen", accepted=0, reason_has="> 0")
        self.assertEqual(self.member("phone:13100000052")["orders"]["net_fen"], 500)

    def test_refund_exceeding_what_was_paid(self):
        self.post_lines([json.dumps(order("RX-1", "13100000061", 1000))])
        refund = {"type": "refund", "refund_id": "RX-R1", "order_id": "RX-1", "amount_fen": 600,
                  "refunded_at": "2026-03-05T10:00:00+08:00"}
        answer = self.post_lines([json.dumps(refund), json.dumps(dict(refund, refund_id="RX-R2"))])
        # 600 fits; a second 600 exceeds the 400 left.
        self.assert_one_rejected(answer, line=2, field="amount_fen", accepted=1, reason_has="400")
        m = self.member("phone:13100000061")
        self.assertEqual((m["orders"]["refunded_fen"], m["orders"]["net_fen"]), (600, 400))
        # A refund of an unknown order names order_id.
        answer = self.post_lines([json.dumps(dict(refund, refund_id="RX-R3", order_id="NOPE"))])
        self.assert_one_rejected(answer, line=1, field="order_id", accepted=0)

    def test_invalid_utf8_in_a_line(self):
        good = json.dumps(order("U8-1", "13100000071", 100)).encode()
        bad = b'{"type":"member","member":{"phone":"13100000072"},"name":"\xff\xfe"}'
        answer = self.post_lines([bad, good])
        r = self.assert_one_rejected(answer, line=1, field="", accepted=1, reason_has="UTF-8")
        self.assertIsNone(self.member("phone:13100000072"))
        self.assertIsNotNone(self.member("phone:13100000071"))

    def test_unknown_type_and_channel(self):
        answer = self.post_lines([json.dumps({"type": "coupon"}),
                                  json.dumps(order("CH-1", "13100000081", 100, channel="fax"))])
        self.assertEqual(answer["accepted"], 0)
        self.assertEqual([(r["line"], [e["field"] for e in r["errors"]]) for r in answer["rejected"]],
                         [(1, ["type"]), (2, ["channel"])])

    def test_every_offending_field_is_named(self):
        e = {"type": "order", "order_id": "", "member": {"phone": "1"}, "channel": "fax",
             "paid_at": "yesterday", "paid_fen": "x"}
        answer = self.post_lines([json.dumps(e)])
        self.assertEqual(answer["accepted"], 0)
        fields = sorted(x["field"] for x in answer["rejected"][0]["errors"])
        self.assertEqual(fields, sorted(["order_id", "member.phone", "channel", "paid_at", "paid_fen"]))

    def test_json_array_with_bad_elements(self):
        events = [order("AR-1", "13100000091", 100), order("AR-2", "13100000092", "oops"), 42,
                  order("AR-4", "13100000094", 400)]
        status, obj, _ = self.server.json("POST", self.EVENTS, events)
        self.assertEqual(status, 200, obj)
        self.assertEqual(obj["accepted"], 2)
        self.assertEqual([(r["line"], [e["field"] for e in r["errors"]]) for r in obj["rejected"]],
                         [(2, ["paid_fen"]), (3, [""])])
        self.assertIsNotNone(self.member("phone:13100000091"))
        self.assertIsNone(self.member("phone:13100000092"))
        self.assertIsNotNone(self.member("phone:13100000094"))

    # -- whole-request rejections --------------------------------------------

    def test_malformed_array_body_rejects_the_whole_batch(self):
        body = '[' + json.dumps(order("WB-1", "13100000101", 100)) + ', {"type":'
        status, hdrs, raw = self.server.request("POST", self.EVENTS, body, {"Content-Type": "application/json"})
        obj = self.assert_problem(status, hdrs, raw, 400, fields=["body"])  # documented: unreadable, the whole body
        self.assertIn("malformed JSON", obj["errors"][0]["reason"])
        self.assertIsNone(self.member("phone:13100000101"))  # not half-applied

    def test_invalid_utf8_in_an_array_body(self):
        body = ('[' + json.dumps(order("WU-1", "13100000102", 100)) + ',').encode() + \
            b'{"type":"member","member":{"phone":"13100000103"},"name":"\xc3\x28"}]'
        status, hdrs, raw = self.server.request("POST", self.EVENTS, body, {"Content-Type": "application/json"})
        obj = self.assert_problem(status, hdrs, raw, 400, fields=["body"])
        self.assertIn("UTF-8", obj["errors"][0]["reason"])
        self.assertIsNone(self.member("phone:13100000102"))

    def test_empty_and_non_event_bodies(self):
        for body in (b"", b"   \n", b"42", b'"order"', b"null"):
            status, hdrs, raw = self.server.request("POST", self.EVENTS, body, {"Content-Type": "application/x-ndjson"})
            self.assert_problem(status, hdrs, raw, 400, fields=["body"])

    def test_too_many_events_is_413(self):
        limit = 100000  # documented in the OpenAPI document of the events endpoint
        # One real order, then `limit` more (invalid, but events all the same).
        body = json.dumps(order("TM-1", "13200000001", 1)) + "\n" + "{}\n" * limit
        status, hdrs, raw = self.server.request("POST", self.EVENTS, body, {"Content-Type": "application/x-ndjson"})
        obj = self.assert_problem(status, hdrs, raw, 413)
        self.assertIn(str(limit), obj["detail"])
        self.assertIsNone(self.member("phone:13200000001"))
        # Exactly the limit is served.
        body = json.dumps(order("TM-1", "13200000001", 1)) + "\n" + "{}\n" * (limit - 1)
        status, _, raw = self.server.request("POST", self.EVENTS, body, {"Content-Type": "application/x-ndjson"})
        self.assertEqual(status, 200, raw[:300])
        answer = json.loads(raw)
        self.assertEqual((answer["accepted"], len(answer["rejected"])), (1, limit - 1))
        self.assertIsNotNone(self.member("phone:13200000001"))

    def test_deeply_nested_json_is_not_a_crash(self):
        for body in (b"[" * 100000, b'{"a":' * 100000, b"[" + b"[" * 5000 + b"]" * 5001):
            status, hdrs, raw = self.server.request("POST", self.EVENTS, body, {"Content-Type": "application/json"})
            self.assertLess(status, 500, raw[:200])
            self.assertGreaterEqual(status, 200)
            self.assert_healthy(self.server)

    def test_unknown_tenant_is_404(self):
        for method, path, body in (("POST", "/api/v1/tenants/nosuch/events", ndjson([order("UT-1", "13100000111")])),
                                   ("GET", "/api/v1/tenants/nosuch/members/1", None),
                                   ("GET", "/api/v1/tenants/nosuch", None),
                                   ("POST", "/api/v1/tenants/nosuch/stores", {"id": "S1"})):
            status, hdrs, raw = self.server.request(method, path, body)
            obj = self.assert_problem(status, hdrs, raw, 404)
            self.assertIn("nosuch", obj["detail"])

    def test_unknown_route_is_404(self):
        for path in ("/api/v1/nothing", "/api/v2/tenants", "/api/v1/tenants/bad/members/1/extra", "/"):
            status, hdrs, raw = self.server.request("GET", path)
            self.assert_problem(status, hdrs, raw, 404)

    def test_wrong_method_is_405_with_allow(self):
        for method, path, allowed in (("DELETE", "/api/v1/tenants", {"GET", "POST"}),
                                      ("PUT", "/api/v1/tenants/bad/events", {"POST"}),
                                      ("POST", "/healthz", {"GET"})):
            status, hdrs, raw = self.server.request(method, path, b"{}")
            self.assert_problem(status, hdrs, raw, 405)
            self.assertEqual({m.strip() for m in hdrs["allow"].split(",")}, allowed)

    def test_bad_tenant_id_on_create(self):
        for bad in ("Acme", "has space", "-leading", "x" * 65, "", "租户"):
            status, hdrs, raw = self.server.request("POST", "/api/v1/tenants", {"id": bad, "name": "n"})
            self.assert_problem(status, hdrs, raw, 422, fields=["id"])
        status, hdrs, raw = self.server.request("POST", "/api/v1/tenants", {"name": "no id"})
        self.assert_problem(status, hdrs, raw, 422, fields=["id"])
        status, hdrs, raw = self.server.request("POST", "/api/v1/tenants", {"id": 7})
        self.assert_problem(status, hdrs, raw, 422, fields=["id"])
        status, listing, _ = self.server.json("GET", "/api/v1/tenants")
        self.assertEqual([t["id"] for t in listing["tenants"]], ["bad"])

    def test_unknown_time_zone(self):
        status, hdrs, raw = self.server.request("POST", "/api/v1/tenants", {"id": "tzbad", "timezone": "Mars/Olympus"})
        self.assert_problem(status, hdrs, raw, 422, fields=["timezone"])
        status, hdrs, raw = self.server.request("POST", "/api/v1/tenants", {"id": "Bad Id", "timezone": "Mars/Olympus"})
        self.assert_problem(status, hdrs, raw, 422, fields=["id", "timezone"])
        self.assertEqual(self.server.json("GET", "/api/v1/tenants/tzbad")[0], 404)

    def test_tenant_body_not_json(self):
        status, hdrs, raw = self.server.request("POST", "/api/v1/tenants", b"{id: acme}")
        self.assert_problem(status, hdrs, raw, 400)


class OversizedBodyTest(PondTestCase):
    LIMIT = 1048576

    def test_oversized_body_is_413_and_nothing_applied(self):
        server = self.start_server(extra_args=["--max-body-bytes", str(self.LIMIT)])
        self.create_tenant(server, "big")
        # ~2 MB of valid orders, each for its own member.
        lines, size, i = [], 0, 0
        while size < 2 * self.LIMIT:
            line = json.dumps(order("BIG-%06d" % i, "1390%07d" % i, 100)) + "\n"
            lines.append(line)
            size += len(line)
            i += 1
        body = "".join(lines).encode()
        status, hdrs, raw = raw_post(server.port, "/api/v1/tenants/big/events", body)
        self.assertEqual(status, 413, raw[:300])
        self.assertEqual(hdrs.get("content-type"), "application/problem+json")
        obj = json.loads(raw)
        self.assertEqual(obj["status"], 413)
        self.assertTrue(PROBLEM_KEYS <= set(obj), obj)
        self.assert_healthy(server)
        for k in (0, i - 1):
            st, _, _ = server.json("GET", "/api/v1/tenants/big/members/phone:1390%07d" % k)
            self.assertEqual(st, 404)
        _, summary, _ = server.json("GET", "/api/v1/tenants/big")
        self.assertEqual(summary["counts"]["orders"], 0)
        # A body under the limit is still served.
        small = "".join(lines[:100])
        st, obj, _ = server.json("POST", "/api/v1/tenants/big/events", small, {"Content-Type": "application/x-ndjson"})
        self.assertEqual((st, obj["accepted"]), (200, 100))


def raw_post(port, path, body, timeout=30):
    """POSTs over a plain socket, tolerating the server closing while we send
    (it may answer 413 as soon as it has read Content-Length)."""
    head = ("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-ndjson\r\n"
            "Content-Length: %d\r\nConnection: close\r\n\r\n" % (path, len(body))).encode()
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    received = b""
    try:
        try:
            sock.sendall(head + body)
        except (BrokenPipeError, ConnectionResetError):
            pass
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += chunk
    finally:
        sock.close()
    head_end = received.find(b"\r\n\r\n")
    if head_end < 0:
        raise AssertionError("no HTTP response; got %r" % received[:200])
    lines = received[:head_end].decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return status, hdrs, received[head_end + 4:]


if __name__ == "__main__":
    unittest.main()
