"""End-to-end tests of audiences over HTTP (the segment routes of
src/http/audience_api.cpp): snapshots that freeze who matched, saved segments
with their size history, and exports to CSV and XLSX.

Expected members and cells are computed here from the events each test sends
(test_tags.Shop), never copied from answers.
"""

import csv
import datetime
import io
import json
import re
import unittest
import xml.etree.ElementTree as ET
import zipfile

from test_tags import API, SHANGHAI, ShopTestCase, mask, orders_in, parse_time, stage_of, tier_of

HEADER = ["member_id", "name", "phone", "gender", "city", "home_store", "owner_staff", "source", "tier", "lifecycle",
          "rfm", "points", "growth", "orders", "net_yuan", "last_paid_on", "tags"]
NUMERIC = {"member_id", "points", "growth", "orders", "net_yuan"}
SHEET_NS = {"x": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}


def column_index(ref):
    """0 for the A of "A12", 26 for AA."""
    n = 0
    for ch in re.match(r"[A-Z]+", ref).group(0):
        n = n * 26 + ord(ch) - ord("A") + 1
    return n - 1


def read_xlsx(data):
    """The first sheet's rows, as lists of str (text) and float (numbers); empty cells are ""."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        bad = z.testzip()
        assert bad is None, "corrupt zip member " + str(bad)
        root = ET.fromstring(z.read("xl/worksheets/sheet1.xml"))
        shared = []
        if "xl/sharedStrings.xml" in z.namelist():
            for si in ET.fromstring(z.read("xl/sharedStrings.xml")).findall("x:si", SHEET_NS):
                shared.append("".join(t.text or "" for t in si.iter("{%s}t" % SHEET_NS["x"])))
    rows = []
    for row in root.find("x:sheetData", SHEET_NS).findall("x:row", SHEET_NS):
        cells = {}
        for c in row.findall("x:c", SHEET_NS):
            kind = c.get("t")
            if kind == "inlineStr":
                value = "".join(t.text or "" for t in c.iter("{%s}t" % SHEET_NS["x"]))
            elif kind == "s":
                value = shared[int(c.find("x:v", SHEET_NS).text)]
            elif kind == "str":
                value = c.find("x:v", SHEET_NS).text or ""
            else:
                v = c.find("x:v", SHEET_NS)
                value = float(v.text) if v is not None else ""
            cells[column_index(c.get("r"))] = value
        rows.append([cells.get(i, "") for i in range(max(cells) + 1 if cells else 0)])
    return rows


class AudienceTestCase(ShopTestCase):
    def snapshot(self, name, expr, expect=201, **extra):
        return self.call("POST", "/segments/snapshots", dict(extra, name=name, expr=expr), expect=expect)

    def snapshot_page(self, snapshot_id, expect=200, **query):
        q = "&".join("%s=%s" % kv for kv in query.items())
        return self.call("GET", "/segments/snapshots/%s%s" % (snapshot_id, "?" + q if q else ""), expect=expect)

    def saved(self, expect=200):
        return {s["id"]: s for s in self.call("GET", "/segments/saved", expect=expect)["segments"]}

    def tag_members(self, name, members):
        self.call("POST", "/tags/%s/members" % name, {"add": [m["id"] for m in members]})
        for m in members:
            m["tags"].add(name)


class SnapshotsTest(AudienceTestCase):
    def test_a_snapshot_keeps_who_matched_while_the_audience_changes(self):
        shop = self.shop
        expr = 'city = "深圳" and orders_365d >= 1'

        def keep(m):
            return m["city"] == "深圳" and orders_in(m, 365) >= 1

        frozen = shop.ids(keep)
        self.assertGreater(len(frozen), 4)
        started = datetime.datetime.now(SHANGHAI)
        snap = self.snapshot("深圳买家", 'CITY="深圳"  AND orders_365D>=1', by="E0007")
        self.assertIsInstance(snap["id"], int)
        self.assertEqual((snap["name"], snap["expr"], snap["count"], snap["created_by"]),
                         ("深圳买家", expr, len(frozen), self.by_of("E0007")), snap)
        self.assertLess(abs(parse_time(snap["created_at"]) - started), datetime.timedelta(minutes=1))
        page = self.snapshot_page(snap["id"])
        self.assertEqual((page["count"], page["offset"], page["member_ids"]), (len(frozen), 0, frozen))

        # The audience changes: one member leaves 深圳, a new 深圳 buyer comes.
        leaver = shop.by_id(frozen[0])
        shop.set_city(leaver, "上海")
        newcomer = shop.add_member(city="深圳", orders=2)
        self.send()
        self.assertEqual(self.count(expr), shop.count(keep))
        self.assertNotEqual(shop.ids(keep), frozen)

        def unchanged(why):
            page = self.snapshot_page(snap["id"])
            self.assertEqual(page["member_ids"], frozen, why)
            self.assertEqual({k: page[k] for k in snap}, snap, why)
            # Pages of three cover it in order, once.
            got = []
            for offset in range(0, len(frozen) + 3, 3):
                page = self.snapshot_page(snap["id"], offset=offset, limit=3)
                self.assertEqual(page["offset"], offset)
                self.assertLessEqual(len(page["member_ids"]), 3)
                got += page["member_ids"]
            self.assertEqual(got, frozen, why)
            self.assertEqual(self.snapshot_page(snap["id"], offset=len(frozen))["member_ids"], [], why)
            self.assertEqual(self.snapshot_page(snap["id"], offset=10**9)["member_ids"], [], why)

        unchanged("after the audience changed")
        self.assertNotIn(newcomer["id"], frozen)

        # A second snapshot sees today's audience; the list shows both.
        again = self.snapshot("深圳买家 2", expr)
        self.assertGreater(again["id"], snap["id"])
        self.assertEqual(self.snapshot_page(again["id"])["member_ids"], shop.ids(keep))
        listed = self.call("GET", "/segments/snapshots")["snapshots"]
        self.assertEqual([(s["id"], s["name"], s["count"]) for s in listed],
                         [(snap["id"], "深圳买家", len(frozen)), (again["id"], "深圳买家 2", shop.count(keep))])

        self.server.kill()
        self.server.start()
        unchanged("after a crash")
        self.server.restart()
        unchanged("after a restart")
        self.assertEqual(self.call("GET", "/segments/snapshots")["snapshots"], listed)

        # Unknown snapshots and bad pages.
        for missing in ("999", "0", "abc", "-1"):
            self.assertEqual(self.snapshot_page(missing, expect=404)["status"], 404, missing)
        for query, field in [({"limit": 0}, "limit"), ({"limit": 10001}, "limit"), ({"offset": -1}, "offset"),
                             ({"offset": "x"}, "offset"), ({"limit": "1.5"}, "limit")]:
            obj = self.snapshot_page(snap["id"], expect=422, **query)
            self.assertEqual([e["field"] for e in obj["errors"]], [field], (query, obj))

    def test_bad_snapshot_requests_are_422_naming_the_field(self):
        obj = self.snapshot("x", 'city = "深圳" and', expect=422)
        self.assertEqual((obj["position"], obj["errors"][0]["field"]), (len('city = "深圳" and') + 1, "expr"), obj)
        obj = self.snapshot("x", 'tag("没有")', expect=422)
        self.assertEqual(obj["errors"][0]["field"], "expr", obj)
        for body, fields in [({"expr": "orders_30d >= 1"}, ["name"]),
                             ({"name": "", "expr": "orders_30d >= 1"}, ["name"]),
                             ({"name": " x", "expr": "orders_30d >= 1"}, ["name"]),
                             ({"name": "a\x01", "expr": "orders_30d >= 1"}, ["name"]),
                             ({"name": "n" * 101, "expr": "orders_30d >= 1"}, ["name"]),
                             ({"name": "x"}, ["expr"]),
                             ({"name": "x", "expr": 5}, ["expr"]),
                             ({"name": "x", "expr": "orders_30d >= 1", "limit": 5}, ["limit"])]:
            obj = self.call("POST", "/segments/snapshots", body, expect=422)
            self.assertEqual(sorted(e["field"] for e in obj["errors"]), fields, (body, obj))
        self.assertEqual(self.call("GET", "/segments/snapshots")["snapshots"], [])


class SavedSegmentsTest(AudienceTestCase):
    RUN_DAY_FIRST = True

    def test_saved_segments_count_now_keep_daily_sizes_and_protect_their_tags(self):
        shop = self.shop
        today = shop.today.isoformat()
        self.call("POST", "/tags", {"name": "VIP"}, expect=201)
        shenzhen = [m for m in shop.members if m["city"] == "深圳"]
        self.tag_members("VIP", shenzhen[: len(shenzhen) // 2])

        def sz_vip(m):
            return "VIP" in m["tags"] and m["city"] == "深圳"

        def regular(m):
            return orders_in(m, 30) >= 1

        first = self.call("POST", "/segments/saved", {"name": "深圳VIP", "expr": 'TAG("VIP") and city="深圳"',
                                                      "by": "E0007"}, expect=201)
        n0 = shop.count(sz_vip)
        self.assertEqual((first["name"], first["expr"], first["count"], first["created_by"], first["sizes"]),
                         ("深圳VIP", 'tag("VIP") and city = "深圳"', n0, self.by_of("E0007"), [{"day": today, "count": n0}]))
        second = self.call("POST", "/segments/saved", {"name": "近30天下单", "expr": "orders_30d >= 1"}, expect=201)
        self.assertEqual((second["count"], second["created_by"]), (shop.count(regular), "local"))
        self.assertGreater(second["id"], first["id"])

        # More VIPs in 深圳: the count is today's, the history is unchanged.
        self.tag_members("VIP", shenzhen)
        n1 = shop.count(sz_vip)
        self.assertGreater(n1, n0)
        listed = self.saved()
        self.assertEqual(set(listed), {first["id"], second["id"]})
        self.assertEqual((listed[first["id"]]["count"], listed[first["id"]]["sizes"]), (n1, [{"day": today, "count": n0}]))
        self.assertEqual(self.call("GET", "/segments/saved/%d" % first["id"]), listed[first["id"]])
        self.call("GET", "/segments/saved/999", expect=404)

        # Today's run was made before the segments existed; running again
        # today is not due, and leaves the day's size as it was recorded.
        # (A new day's run appends that day's size, but the server has no
        # clock a test can move, so the append is not shown here.)
        run = self.call("POST", "/scheduler/run")
        self.assertEqual(run["last_day"], today)
        self.assertEqual(self.saved(), listed)

        # A tag a saved segment reads cannot be deleted.
        obj = self.call("DELETE", "/tags/VIP", expect=409)
        self.assertIn("深圳VIP", obj["detail"])
        self.assertEqual(self.count('tag("VIP")'), shop.count(lambda m: "VIP" in m["tags"]))

        self.server.kill()
        self.server.start()
        self.assertEqual(self.saved(), listed, "after a crash")
        self.server.restart()
        self.assertEqual(self.saved(), listed, "after a restart")

        self.call("DELETE", "/segments/saved/%d" % first["id"], expect=204)
        self.call("GET", "/segments/saved/%d" % first["id"], expect=404)
        self.call("DELETE", "/segments/saved/%d" % first["id"], expect=404)
        for missing in ("abc", "0", "-1", "99999999999999999999"):
            self.call("DELETE", "/segments/saved/" + missing, expect=404)
        self.assertEqual(set(self.saved()), {second["id"]})
        self.call("DELETE", "/tags/VIP", expect=204)  # nobody reads it now
        self.server.restart()
        self.assertEqual(set(self.saved()), {second["id"]}, "the deletion survives a restart")
        # Bad requests.
        obj = self.call("POST", "/segments/saved", {"name": "x", "expr": 'tag("VIP")'}, expect=422)
        self.assertEqual((obj["position"], obj["errors"][0]["field"]), (len('tag(') + 1, "expr"), obj)
        obj = self.call("POST", "/segments/saved", {"name": "x", "expr": "orders_30d >"}, expect=422)
        self.assertEqual(obj["position"], len("orders_30d >") + 1, obj)
        obj = self.call("POST", "/segments/saved", {"name": "", "expr": "orders_30d > 1", "x": 1}, expect=422)
        self.assertEqual(sorted(e["field"] for e in obj["errors"]), ["name", "x"], obj)
        obj = self.call("POST", "/segments/saved", {"name": "", "expr": "orders_30d > 1"}, expect=422)
        self.assertEqual([e["field"] for e in obj["errors"]], ["name"], obj)
        self.assertEqual(set(self.saved()), {second["id"]})


class ExportTest(AudienceTestCase):
    # A name with CSV's special characters, and one a spreadsheet would take for a formula.
    NAMES = ['王, "小明"', '=HYPERLINK("http://x")', "-1+1", "李雷"]

    def setUp(self):
        super().setUp()
        named = [m for m in self.shop.members if m["city"] == "深圳"][: len(self.NAMES)]
        for m, name in zip(named, self.NAMES):
            m["name"] = name
        status, obj, _ = self.server.ingest("shop", [{"type": "member", "member": {"phone": m["phone"]},
                                                      "name": m["name"]} for m in named])
        self.assertEqual((status, obj["accepted"]), (200, len(named)), obj)
        self.call("POST", "/tags", {"name": "VIP"}, expect=201)
        self.tag_members("VIP", self.shop.members[::3])

    def export(self, body, expect=200, query=""):
        status, headers, data = self.server.request("POST", API + "/segments/export" + query, body)
        self.assertEqual(status, expect, data[:2000])
        return headers, data

    def expected_rows(self, ids, reveal=False):
        """The rows for these members as the model has them; rfm and points as the member's own views say."""
        rows = []
        for member_id in ids:
            m = self.shop.by_id(member_id)
            loyalty = self.call("GET", "/members/%d/loyalty" % member_id)
            orders = m["orders"]
            net = sum(o["net"] for o in orders)
            rows.append([str(member_id), m.get("name", ""), m["phone"] if reveal else mask(m["phone"]),
                         m["gender"] or "", m["city"] or "", m["home_store"] or "", "", m["source"], tier_of(m),
                         stage_of(m, self.shop.today), loyalty["rfm"]["class"], str(loyalty["points"]["balance"]),
                         str(sum(o["net"] // 10 for o in orders)), str(len(orders)), "%d.%02d" % divmod(net, 100),
                         max(o["date"] for o in orders).isoformat() if orders else "",
                         "|".join(self.shop.tags_of(m))])
        return rows

    def read_csv(self, headers, data):
        self.assertEqual(headers["content-type"], "text/csv; charset=utf-8")
        self.assertIn("attachment", headers.get("content-disposition", ""))
        self.assertTrue(data.startswith(b"\xef\xbb\xbf"), data[:20])  # so Excel reads UTF-8
        rows = list(csv.reader(io.StringIO(data[3:].decode("utf-8"), newline="")))
        self.assertEqual(rows[0], HEADER)
        self.assertEqual(headers.get("pond-count"), str(len(rows) - 1))
        return rows[1:]

    def read_xlsx(self, headers, data):
        self.assertEqual(headers["content-type"], "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        self.assertTrue(data.startswith(b"PK"), data[:20])
        rows = [r + [""] * (len(HEADER) - len(r)) for r in read_xlsx(data)]  # empty cells at the end are left out
        self.assertEqual(rows[0], HEADER)
        self.assertEqual(headers.get("pond-count"), str(len(rows) - 1))
        return rows[1:]

    def as_xlsx(self, rows):
        """Expected CSV rows as the workbook holds them: numbers as numbers."""
        out = []
        for row in rows:
            out.append([float(v) if HEADER[i] in NUMERIC else v for i, v in enumerate(row)])
        return out

    def as_csv(self, rows):
        """Expected rows as CSV shows text a spreadsheet would take for a formula: quoted with '."""
        return [[("'" + v) if isinstance(v, str) and v[:1] in ("=", "+", "-", "@") and HEADER[i] == "name" else v
                 for i, v in enumerate(row)] for row in rows]

    def test_csv_and_xlsx_exports_hold_exactly_the_matching_members(self):
        shop = self.shop
        expr = 'city = "深圳" or tag("VIP")'

        def keep(m):
            return m["city"] == "深圳" or "VIP" in m["tags"]

        ids = shop.ids(keep)
        self.assertGreater(len(ids), 5)
        self.assertEqual(self.count(expr), len(ids))
        expected = self.expected_rows(ids)
        self.assertTrue(any(r[-1] for r in expected) and any("|" in r[-1] for r in expected))

        rows = self.read_csv(*self.export({"expr": expr, "format": "csv"}))
        self.assertEqual([int(r[0]) for r in rows], ids)
        self.assertEqual(rows, self.as_csv(expected))
        self.assertEqual(self.read_csv(*self.export({"expr": expr})), rows)  # csv is the default
        for r in rows:
            self.assertRegex(r[2], r"^1\d\d\*\*\*\*\d{4}$")

        sheet = self.read_xlsx(*self.export({"expr": expr, "format": "xlsx"}))
        self.assertEqual([int(r[0]) for r in sheet], ids)
        self.assertEqual(sheet, self.as_xlsx(expected))

        # An admin may ask for whole phone numbers.
        rows = self.read_csv(*self.export({"expr": expr}, query="?reveal=phone"))
        self.assertEqual([r[2] for r in rows], [shop.by_id(i)["phone"] for i in ids])
        # Nobody matches: the header alone.
        self.assertEqual(self.read_csv(*self.export({"expr": "last_order_days > 100000"})), [])
        self.assertEqual(self.read_xlsx(*self.export({"expr": "last_order_days > 100000", "format": "xlsx"})), [])

    def test_a_snapshot_exports_its_frozen_members(self):
        shop = self.shop

        def keep(m):
            return m["city"] == "杭州"

        snap = self.snapshot("杭州", 'city = "杭州"')
        frozen = shop.ids(keep)
        self.assertEqual(snap["count"], len(frozen))
        # The audience moves on; the snapshot's export does not.
        leaver = shop.by_id(frozen[0])
        shop.set_city(leaver, "上海")
        shop.add_member(city="杭州", orders=1)
        self.send()
        self.assertNotEqual(shop.ids(keep), frozen)
        expected = self.expected_rows(frozen)  # today's attributes of the frozen members
        self.assertEqual(expected[0][4], "上海")
        rows = self.read_csv(*self.export({"snapshot_id": snap["id"]}))
        self.assertEqual(rows, self.as_csv(expected))
        sheet = self.read_xlsx(*self.export({"snapshot_id": snap["id"], "format": "xlsx"}))
        self.assertEqual(sheet, self.as_xlsx(expected))
        self.server.restart()
        self.call("POST", "/scheduler/run")  # the day's run (a start makes one too) scores RFM: expected anew
        self.assertEqual(self.read_csv(*self.export({"snapshot_id": snap["id"]})), self.as_csv(self.expected_rows(frozen)),
                         "after a restart")

        # A frozen member merged since into an older one outside the snapshot:
        # the survivor is not in the audience, so neither row is exported.
        merged = shop.by_id(frozen[-1])
        outsider = min((m for m in shop.members if m["city"] not in ("杭州", None) and m["id"] < merged["id"]),
                       key=lambda m: m["id"])
        for ref in ({"phone": outsider["phone"], "unionid": "o6_merge"}, {"phone": merged["phone"], "unionid": "o6_merge"}):
            status, obj, _ = self.server.ingest("shop", [{"type": "member", "member": ref}])
            self.assertEqual((status, obj["accepted"]), (200, 1), obj)
        self.assertEqual(self.call("GET", "/members/phone:" + merged["phone"])["member_id"], outsider["id"])
        merged["merged"] = True
        status, headers, data = self.server.request("POST", API + "/segments/export", {"snapshot_id": snap["id"]})
        self.assertEqual(status, 200, data)
        rows = list(csv.reader(io.StringIO(data[3:].decode("utf-8"), newline="")))[1:]
        self.assertEqual([int(r[0]) for r in rows], frozen[:-1])
        self.assertEqual(headers.get("pond-count"), str(len(rows)))  # the rows written, not the snapshot's count

    def test_bad_exports_are_refused(self):
        snap = self.snapshot("all", "orders_365d >= 0")
        for body, fields in [
            ({"expr": "orders_30d >= 1", "format": "pdf"}, ["format"]),
            ({"expr": "orders_30d >= 1", "format": "CSV"}, ["format"]),
            ({"expr": "orders_30d >= 1", "snapshot_id": snap["id"]}, ["expr"]),
            ({}, ["expr"]),
            ({"format": "csv"}, ["expr"]),
            ({"snapshot_id": 0}, ["expr", "snapshot_id"]),
            ({"snapshot_id": "1"}, ["expr", "snapshot_id"]),
            ({"expr": 5}, ["expr"]),
            ({"expr": "orders_30d >= 1", "columns": ["phone"]}, ["columns"]),
        ]:
            headers, data = self.export(body, expect=422)
            obj = json.loads(data)
            self.assertEqual(sorted(set(e["field"] for e in obj["errors"])), fields, (body, obj))
        headers, data = self.export({"expr": 'city = "深圳" and'}, expect=422)
        obj = json.loads(data)
        self.assertEqual((obj["position"], obj["errors"][0]["field"]), (len('city = "深圳" and') + 1, "expr"), obj)
        self.assertEqual(headers["content-type"], "application/problem+json")
        headers, data = self.export({"expr": 'tag("不存在")'}, expect=422)
        self.assertEqual(json.loads(data)["errors"][0]["field"], "expr")
        self.export({"snapshot_id": snap["id"] + 100}, expect=404)
        for raw in (b"not json", b"[]"):
            status, _, data = self.server.request("POST", API + "/segments/export", raw)
            self.assertIn(status, (400, 422), data)
        self.assert_healthy(self.server)


if __name__ == "__main__":
    unittest.main()
