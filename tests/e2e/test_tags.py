"""End-to-end tests of tags over HTTP (docs/segments.md "Functions", the tag
routes of src/http/audience_api.cpp): the default preference rule tags and
the system tags, manual tags with who tagged whom and when, rule tags that
stay current as events arrive, merges, deletion, and that all of it survives
a crash and a restart.

Expected counts and holders are computed here, by brute force, from the
members and orders each test sends (`Shop`), never copied from answers.
`test_audiences` builds on the same `Shop`.
"""

import datetime
import random
import unittest
from urllib.parse import quote
from zoneinfo import ZoneInfo

from pond_server import PondTestCase, lifecycle_stage

SHANGHAI = ZoneInfo("Asia/Shanghai")
API = "/api/v1/tenants/shop"

# The tags a new tenant starts with (src/tags/tag_book.cpp DefaultTags).
DEFAULT_RULES = {
    "爱美妆": 'bought("beauty", 365, 2)',
    "零食吃货": 'bought("snacks", 180, 2)',
    "IP粉丝": 'bought("ip_goods", 365, 2)',
    "周末亲子": 'bought("toys", 365) and weekend_orders_365d >= 2',
    "囤货达人": "max_units_365d >= 8",
}

CITIES = ["深圳", "上海", "杭州"]
CATEGORIES = ["beauty", "snacks", "ip_goods", "toys", "food"]
# Days ago an order may be placed: both sides of every window the tests use.
AGOS = [0, 1, 2, 3, 5, 6, 9, 13, 29, 30, 45, 89, 120, 179, 180, 250, 364, 365, 500]
ITEM_FEN = [19_90, 59_00, 128_00, 399_00]


def path_of(name):
    """A tag name as one path segment."""
    return quote(name, safe="")


# --- what the expression language means, literally (docs/segments.md) -----

def in_window(orders, days):
    """Orders of "the last N days": today and the N - 1 days before."""
    return [o for o in orders if o["ago"] <= days - 1 and o["net"] > 0]


def bought(m, category, days, k=1):
    return sum(1 for o in in_window(m["orders"], days) if category in o["categories"]) >= k


def orders_in(m, days):
    return len(in_window(m["orders"], days))


def weekend_orders(m, days):
    return sum(1 for o in in_window(m["orders"], days) if o["date"].weekday() >= 5)


def max_units(m, days):
    return max((o["units"] for o in in_window(m["orders"], days)), default=0)


DEFAULT_TAGS = {
    "爱美妆": lambda m: bought(m, "beauty", 365, 2),
    "零食吃货": lambda m: bought(m, "snacks", 180, 2),
    "IP粉丝": lambda m: bought(m, "ip_goods", 365, 2),
    "周末亲子": lambda m: bought(m, "toys", 365) and weekend_orders(m, 365) >= 2,
    "囤货达人": lambda m: max_units(m, 365) >= 8,
}


def growth_of(m):
    """CONTRACT.md: floor(net_fen / 10) per order."""
    return sum(o["net"] // 10 for o in m["orders"])


def tier_of(m):
    g = growth_of(m)
    return "gold" if g >= 6000 else "silver" if g >= 3000 else "standard"


def stage_of(m, today):
    return lifecycle_stage([o["date"] for o in m["orders"] if o["net"] > 0], today)


def mask(phone):
    return phone[:3] + "****" + phone[-4:]


def parse_time(text):
    return datetime.datetime.fromisoformat(text)


class Shop:
    """The members and orders a test sends, and the model they make.

    A member is a dict: phone, city/gender/home_store/source (None when not
    sent), orders (dicts: id, ago, date, net, categories, units), tags (the
    manual tags the test put on it) and id (the server's, once learnt).
    """

    def __init__(self, count=40, seed=20261124, phone_prefix="1391234"):
        self.now = datetime.datetime.now(SHANGHAI)
        self.today = self.now.date()
        self.rng = random.Random(seed)
        self.phone_prefix = phone_prefix
        self.members = []
        self.pending = []  # events not sent yet
        self.next_order = 0
        for i in range(count):
            self.add_member(profiled=i % 7 != 6, orders=self.rng.randrange(0, 7))

    def add_member(self, profiled=True, orders=0, city=None):
        """A new member: a member event (or, not profiled, first met through an order)."""
        i = len(self.members) + 1
        m = {"phone": "%s%04d" % (self.phone_prefix, i), "city": None, "gender": None, "home_store": None,
             "source": "order", "orders": [], "tags": set(), "id": None}
        if profiled:
            m.update(city=city or CITIES[self.rng.randrange(len(CITIES))],
                     gender=self.rng.choice(["female", "male"]), home_store="S00%d" % (1 + i % 3),
                     source=self.rng.choice(["store_qr", "miniprogram"]))
            self.pending.append({"type": "member", "member": {"phone": m["phone"]}, "city": m["city"],
                                 "gender": m["gender"], "home_store": m["home_store"], "source": m["source"]})
        self.members.append(m)
        agos = sorted((self.rng.choice(AGOS) for _ in range(max(orders, 0 if profiled else 1))), reverse=True)
        for ago in agos:  # oldest first, as a till would send them
            items = [(self.rng.choice(CATEGORIES), self.rng.randint(1, 6), self.rng.choice(ITEM_FEN))
                     for _ in range(self.rng.randint(1, 2))]
            self.add_order(m, ago, items)
        return m

    def add_order(self, m, ago, items):
        """An order `ago` days back; items are (category, qty, fen per item)."""
        self.next_order += 1
        day = self.today - datetime.timedelta(days=ago)
        if ago == 0:
            start = datetime.datetime.combine(day, datetime.time(0, 0), SHANGHAI)
            paid_at = max(start, self.now - datetime.timedelta(minutes=1))
        else:
            paid_at = datetime.datetime.combine(day, datetime.time(12, 0), SHANGHAI)
        lines = [{"sku": "SKU-%s" % c, "category": c, "qty": q, "paid_fen": q * fen} for c, q, fen in items]
        o = {"id": "T-%d" % self.next_order, "ago": ago, "date": day, "net": sum(l["paid_fen"] for l in lines),
             "categories": {c for c, _, _ in items}, "units": sum(q for _, q, _ in items)}
        m["orders"].append(o)
        self.pending.append({"type": "order", "order_id": o["id"], "member": {"phone": m["phone"]},
                             "channel": "store", "store": "S001", "paid_at": paid_at.isoformat(),
                             "paid_fen": o["net"], "items": lines})
        return o

    def refund_all(self, m, o):
        """A full refund of order `o`."""
        self.pending.append({"type": "refund", "refund_id": "RF-" + o["id"], "order_id": o["id"],
                             "amount_fen": o["net"], "refunded_at": self.now.isoformat()})
        o["net"] = 0

    def set_city(self, m, city):
        m["city"] = city
        self.pending.append({"type": "member", "member": {"phone": m["phone"]}, "city": city})

    def take_events(self):
        events, self.pending = self.pending, []
        return events

    # -- brute force -------------------------------------------------------

    def standing(self):
        return [m for m in self.members if not m.get("merged")]

    def ids(self, keep):
        return sorted(m["id"] for m in self.standing() if keep(m))

    def count(self, keep):
        return len(self.ids(keep))

    def tags_of(self, m):
        """Every tag a member holds: its manual tags and the default rule tags it matches."""
        return sorted(m["tags"] | {t for t, keep in DEFAULT_TAGS.items() if keep(m)})

    def by_id(self, member_id):
        return next(m for m in self.members if m["id"] == member_id)


class ShopTestCase(PondTestCase):
    """A fresh server and tenant "shop" with a `Shop` sent to it."""

    MEMBERS = 40
    # Run the tenant's day before any member arrives. The server's own first
    # scheduler pass races with the tenant's creation (it may or may not run
    # the new tenant's day), so a test whose answers depend on whether the
    # day has run settles it first.
    RUN_DAY_FIRST = False

    def setUp(self):
        super().setUp()
        self.server = self.start_server()
        self.tenant = self.create_tenant(self.server, "shop")
        if self.RUN_DAY_FIRST:
            self.call("POST", "/scheduler/run")
        self.shop = Shop(count=self.MEMBERS)
        self.send()

    # -- requests ------------------------------------------------------------

    def call(self, method, path, body=None, expect=200):
        # Who does something is the request's actor, never a body's "by": a
        # body naming someone is sent with that person's key (and keeps its
        # "by", which the server ignores).
        headers = None
        if isinstance(body, dict) and "by" in body:
            headers = {"Authorization": "Bearer " + self.staff_key(body["by"])[1]}
        status, obj, _ = self.server.json(method, API + path, body, headers)
        self.assertEqual(status, expect, "%s %s %r -> %s" % (method, path, body, obj))
        return obj

    def staff_key(self, persona):
        """(id, key) of an operator key standing for PERSONA, made once."""
        keys = self.__dict__.setdefault("_staff_keys", {})
        if persona not in keys:
            status, obj, _ = self.server.json("POST", "/api/v1/keys", {"tenant": "shop", "role": "operator"})
            self.assertEqual(status, 201, obj)
            keys[persona] = (obj["id"], obj["key"])
        return keys[persona]

    def by_of(self, persona):
        """What Pond records as who acted, for a request made with PERSONA's key."""
        return "key:" + self.staff_key(persona)[0]

    def send(self):
        """Sends the shop's pending events; learns the ids of new members."""
        events = self.shop.take_events()
        if events:
            status, obj, _ = self.server.ingest("shop", events)
            self.assertEqual(status, 200, obj)
            self.assertEqual(obj["rejected"], [], obj)
        for m in self.shop.members:
            if m["id"] is None:
                m["id"] = self.call("GET", "/members/phone:" + m["phone"])["member_id"]

    def count(self, expr):
        return self.call("POST", "/segments/count", {"expr": expr})["count"]

    def member(self, m):
        return self.call("GET", "/members/%d" % m["id"])

    def tag(self, name, expect=200):
        return self.call("GET", "/tags/" + path_of(name), expect=expect)

    def tag_count(self, name):
        return self.tag(name)["count"]

    def create_tag(self, name, expect=201, **fields):
        return self.call("POST", "/tags", dict(fields, name=name), expect=expect)

    def change(self, name, body, expect=200):
        return self.call("POST", "/tags/%s/members" % path_of(name), body, expect=expect)

    def operations(self, name, **query):
        q = "&".join("%s=%s" % kv for kv in query.items())
        return self.call("GET", "/tags/%s/operations%s" % (path_of(name), "?" + q if q else ""))["operations"]

    def assert_holders(self, name, keep, why=""):
        """The tag's count, tag("name") and the holders' member views all agree with `keep`."""
        expected = self.shop.count(keep)
        self.assertEqual(self.tag_count(name), expected, "%s count %s" % (name, why))
        self.assertEqual(self.count('tag("%s")' % name), expected, "tag(%s) %s" % (name, why))


class DefaultAndSystemTagsTest(ShopTestCase):
    def test_default_preference_tags_and_system_tags_count_the_members_sent(self):
        shop = self.shop
        listing = self.call("GET", "/tags")
        tags = {t["name"]: t for t in listing["tags"]}
        self.assertEqual(set(tags), set(DEFAULT_RULES))
        for name, rule in DEFAULT_RULES.items():
            t = tags[name]
            self.assertEqual((t["group"], t["kind"], t["rule"]), ("偏好", "rule", rule), t)
            self.assertTrue(t["description"], t)
            self.assertEqual(t["created_by"], "pond", t)
            # Made with the tenant.
            self.assertEqual(parse_time(t["created_at"]), parse_time(self.tenant["created_at"]), t)
            self.assertEqual(t["count"], shop.count(DEFAULT_TAGS[name]), name)
            self.assertEqual(self.count('tag("%s")' % name), t["count"], name)
            self.assertEqual(self.tag(name), t)
        # The data makes every default tag hold someone and miss someone.
        for name, keep in DEFAULT_TAGS.items():
            self.assertTrue(0 < shop.count(keep) < len(shop.members), name)

        expected = {}
        for m in shop.standing():
            keys = ["tier:" + tier_of(m), "lifecycle:" + stage_of(m, shop.today), "source:" + m["source"]]
            if m["home_store"]:
                keys.append("home_store:" + m["home_store"])
            for key in keys:
                expected[key] = expected.get(key, 0) + 1
        system = {t["name"]: t["count"] for t in listing["system"]}
        self.assertEqual(len(system), len(listing["system"]), "a system tag listed twice")
        rfm = {k: v for k, v in system.items() if k.startswith("rfm:")}
        self.assertEqual(sum(rfm.values()), len(shop.members), rfm)  # every member has a class, "none" too
        self.assertEqual({k: v for k, v in system.items() if not k.startswith("rfm:")}, expected)
        self.assertGreater(expected.get("tier:silver", 0) + expected.get("tier:gold", 0), 0)
        # System tags read like any tag in an expression, and answer on their own.
        for name, n in system.items():
            self.assertEqual(self.count('tag("%s")' % name), n, name)
            self.assertEqual(self.tag(name), {"name": name, "kind": "system", "count": n})
        for name in ("tier:platinum", "tier:", "colour:red"):
            self.tag(name, expect=404)

        # Rule tags move as orders arrive: a member with no beauty at all
        # buys it twice this week and joins 爱美妆.
        m = next(m for m in shop.members if not bought(m, "beauty", 3650) and m["city"])
        self.assertNotIn("爱美妆", self.member(m)["tags"])
        shop.add_order(m, 1, [("beauty", 1, 59_00)])
        self.send()
        self.assertNotIn("爱美妆", self.member(m)["tags"])
        shop.add_order(m, 0, [("beauty", 1, 59_00)])
        self.send()
        self.assertIn("爱美妆", self.member(m)["tags"])
        self.assertEqual(self.tag_count("爱美妆"), shop.count(DEFAULT_TAGS["爱美妆"]))
        # A member's tags are the manual and rule tags it holds, nothing else.
        for m in shop.members:
            self.assertEqual(self.member(m)["tags"], shop.tags_of(m), m["phone"])


class ManualTagsTest(ShopTestCase):
    def test_creating_a_tag_validates_its_name_and_body(self):
        before = self.call("GET", "/tags")
        t = self.create_tag("VIP", group="运营", description="the shop's best customers", by="E0007")
        self.assertEqual((t["name"], t["group"], t["kind"], t["description"], t["count"], t["created_by"]),
                         ("VIP", "运营", "manual", "the shop's best customers", 0, self.by_of("E0007")))
        self.assertNotIn("rule", t)
        self.assertLess(abs(parse_time(t["created_at"]) - datetime.datetime.now(SHANGHAI)),
                        datetime.timedelta(minutes=1))
        self.assertEqual(self.tag("VIP"), t)
        self.assertEqual(self.create_tag("VIP", expect=409)["status"], 409)
        self.assertEqual(self.create_tag("VIP", expect=409, group="other")["status"], 409)
        self.assertEqual(self.tag("VIP"), t)  # unchanged by the refused duplicates

        hundred = "标" * 33 + "a"  # 100 bytes of UTF-8
        self.assertEqual(len(hundred.encode()), 100)
        bad_names = ["", " VIP", "VIP ", "V\x01IP", "VIP\n", "V\x7fIP", "tier:x", "lifecycle:mature", "rfm:none",
                     "source:x", "home_store:S001", hundred + "b"]
        for name in bad_names:
            obj = self.create_tag(name, expect=422)
            self.assertEqual([e["field"] for e in obj["errors"]], ["name"], (name, obj))
        self.assertEqual(self.create_tag(hundred)["name"], hundred)
        # A name that starts with ideographic space (U+3000, a Chinese IME's
        # space) looks just like one without.
        for invisible in ("\u3000VIP", "VIP\u00a0", "\u200bVIP"):
            obj = self.create_tag(invisible, expect=422)
            self.assertEqual([e["field"] for e in obj["errors"]], ["name"], obj)

        for body, fields in [
            ({"name": "X", "colour": "red"}, ["colour"]),
            ({"name": "X", "kind": "smart"}, ["kind"]),
            ({"name": "X", "rule": 'city = "深圳"'}, ["rule"]),  # a manual tag has no rule
            ({"name": "X", "kind": "rule"}, ["rule"]),  # a rule tag needs one
            ({"name": 5}, ["name"]),
            ({"name": "X", "group": "g\x02"}, ["group"]),
            ({"name": "X", "description": "d" * 1001}, ["description"]),
            ({}, ["name"]),
        ]:
            obj = self.call("POST", "/tags", body, expect=422)
            self.assertEqual(sorted(e["field"] for e in obj["errors"]), fields, (body, obj))
        for raw in [b"not json", b"[1, 2]", b'"VIP"']:
            status, _, data = self.server.request("POST", API + "/tags", raw, {"Content-Type": "application/json"})
            self.assertIn(status, (400, 422), data)
        self.assertEqual(self.tag("X", expect=404)["status"], 404)
        after = self.call("GET", "/tags")
        self.assertEqual(sorted(t["name"] for t in after["tags"]),
                         sorted([t["name"] for t in before["tags"]] + ["VIP", hundred]))
        self.assert_healthy(self.server)

    def test_tagging_members_by_id_ref_and_expression_with_who_and_when(self):
        shop = self.shop
        self.create_tag("VIP")
        ms = shop.members
        # Ids and refs; one member named twice is tagged once.
        started = datetime.datetime.now(SHANGHAI)
        first = [ms[0]["id"], "phone:" + ms[1]["phone"], ms[2]["id"], "phone:" + ms[0]["phone"]]
        got = self.change("VIP", {"add": first, "by": "E0007", "note": "开业活动"})
        for m in ms[:3]:
            m["tags"].add("VIP")
        self.assertEqual((got["tag"], got["added"], got["unchanged"]), ("VIP", 3, 1), got)
        op1 = got["operation"]
        self.assertIsInstance(op1, int)
        self.assert_holders("VIP", lambda m: "VIP" in m["tags"])

        # Again: nothing changes, no operation is recorded.
        again = self.change("VIP", {"add": [ms[1]["id"], "phone:" + ms[2]["phone"]], "by": "E0008"})
        self.assertEqual((again["added"], again["unchanged"], again["operation"]), (0, 2, None), again)
        self.assertEqual(len(self.operations("VIP")), 1)

        # A retried request with an Idempotency-Key answers the first answer and changes nothing.
        # (Sent without a key: its "by" is ignored, the local operator did it.)
        key = {"Idempotency-Key": "tag-retry-1"}
        body = {"add": [ms[6]["id"]], "by": "E0007"}
        status, first_answer, _ = self.server.json("POST", API + "/tags/VIP/members", body, key)
        self.assertEqual((status, first_answer["added"]), (200, 1), first_answer)
        status, replayed, headers = self.server.json("POST", API + "/tags/VIP/members", body, key)
        self.assertEqual((status, replayed), (200, first_answer))
        self.assertEqual(headers.get("idempotent-replayed"), "true")
        op_retry_removed = self.change("VIP", {"remove": [ms[6]["id"]]})["operation"]
        status, replayed, _ = self.server.json("POST", API + "/tags/VIP/members", body, key)
        self.assertEqual((status, replayed), (200, first_answer))
        self.assertNotIn("VIP", self.member(ms[6])["tags"])  # the replay did not tag it again
        self.assertEqual(len(self.operations("VIP")), 3)
        op_retry = first_answer["operation"]
        op1_ops = 3

        # Unknown members fail the whole request, each named, and nothing is applied.
        bad = self.change("VIP", {"add": [ms[3]["id"], 99999, "phone:" + ms[4]["phone"], "phone:13999999999"],
                                  "by": "E0007"}, expect=422)
        self.assertEqual(sorted(e["field"] for e in bad["errors"]), ["add[1]", "add[3]"], bad)
        bad = self.change("VIP", {"remove": [ms[0]["id"], "unionid:nobody"]}, expect=422)
        self.assertEqual([e["field"] for e in bad["errors"]], ["remove[1]"], bad)
        # Ill-formed entries are named too.
        bad = self.change("VIP", {"add": [ms[3]["id"], 0, -4, "phone:", "nobody", 1.5, None]}, expect=422)
        self.assertEqual(sorted(e["field"] for e in bad["errors"]),
                         ["add[%d]" % i for i in range(1, 7)], bad)
        for body, field in [({}, "body"), ({"add": [ms[3]["id"]], "remove": [ms[0]["id"]]}, "body"),
                            ({"add": ms[3]["id"]}, "add"), ({"add": [ms[3]["id"]], "who": "x"}, "who"),
                            ({"add_matching": 5}, "add_matching")]:
            bad = self.change("VIP", body, expect=422)
            self.assertIn(field, [e["field"] for e in bad["errors"]], (body, bad))
        bad = self.change("VIP", {"add_matching": 'city = "深圳" and'}, expect=422)
        self.assertEqual((bad["position"], bad["errors"][0]["field"]), (len('city = "深圳" and') + 1, "add_matching"))
        bad = self.change("VIP", {"add": [ms[3]["id"]], "note": "a\x00b"}, expect=422)
        self.assertEqual([e["field"] for e in bad["errors"]], ["note"], bad)
        self.assertEqual(self.change("NOPE", {"add": [ms[3]["id"]]}, expect=404)["status"], 404)
        self.assert_holders("VIP", lambda m: "VIP" in m["tags"], "after refused requests")
        self.assertEqual(len(self.operations("VIP")), op1_ops)

        # By expression: every 深圳 member not yet tagged.
        shenzhen = [m for m in ms if m["city"] == "深圳"]
        newly = [m for m in shenzhen if "VIP" not in m["tags"]]
        self.assertTrue(newly)
        got = self.change("VIP", {"add_matching": 'city = "深圳"', "by": "E0009", "note": "city push"})
        self.assertEqual((got["added"], got["unchanged"]), (len(newly), len(shenzhen) - len(newly)), got)
        for m in shenzhen:
            m["tags"].add("VIP")
        op2 = got["operation"]
        self.assertGreater(op2, op1)
        self.assert_holders("VIP", lambda m: "VIP" in m["tags"])

        # Remove by id and by expression.
        untagged = next(m for m in ms if "VIP" not in m["tags"])
        got = self.change("VIP", {"remove": [ms[1]["id"], untagged["id"]], "by": "E0007", "note": "left"})
        ms[1]["tags"].discard("VIP")
        self.assertEqual((got["removed"], got["unchanged"]), (1, 1), got)
        op3 = got["operation"]
        hangzhou_tagged = [m for m in ms if m["city"] == "杭州" and "VIP" in m["tags"]]
        got = self.change("VIP", {"remove_matching": 'city = "杭州"'})
        self.assertEqual(got["removed"], len(hangzhou_tagged), got)
        for m in hangzhou_tagged:
            m["tags"].discard("VIP")
        op4 = got["operation"]
        self.assertEqual(op4 is None, not hangzhou_tagged, got)
        finished = datetime.datetime.now(SHANGHAI)
        self.assert_holders("VIP", lambda m: "VIP" in m["tags"], "after removals")

        # Each member shows the tag and who put it on, and when.
        ops = self.operations("VIP")
        expected_ops = [(op3, "remove", 1, self.by_of("E0007"), "left"),
                        (op2, "add", len(newly), self.by_of("E0009"), "city push"),
                        (op_retry_removed, "remove", 1, "local", ""), (op_retry, "add", 1, "local", ""),
                        (op1, "add", 3, self.by_of("E0007"), "开业活动")]
        if op4:
            expected_ops.insert(0, (op4, "remove", len(hangzhou_tagged), "local", ""))
        self.assertEqual([(o["id"], o["action"], o["members"], o["by"], o["note"]) for o in ops], expected_ops)
        times = [parse_time(o["at"]) for o in ops]
        self.assertEqual(times, sorted(times, reverse=True))  # newest first
        for at in times:
            self.assertTrue(started - datetime.timedelta(seconds=1) <= at <= finished + datetime.timedelta(seconds=1))
        self.assertEqual(self.operations("VIP", limit=1), ops[:1])
        self.assertEqual(self.call("GET", "/tags/VIP/operations?limit=0", expect=422)["errors"][0]["field"], "limit")
        self.assertEqual(self.call("GET", "/tags/NOPE/operations", expect=404)["status"], 404)
        when = {o["id"]: o["at"] for o in ops}
        for m in ms:
            view = self.member(m)
            self.assertEqual(view["tags"], shop.tags_of(m), m["phone"])
            tagged = {t["tag"]: (t["by"], t["at"]) for t in view["tagged"]}
            if "VIP" not in m["tags"]:
                self.assertNotIn("VIP", tagged)
                continue
            op = op1 if m in ms[:3] else op2
            self.assertEqual(tagged["VIP"], (self.by_of("E0007" if op == op1 else "E0009"), when[op]), m["phone"])
        # Refs work for reading a member's tags too.
        self.assertIn("VIP", self.call("GET", "/members/phone:" + ms[0]["phone"])["tags"])

    def test_segment_counts_with_tags_match_a_brute_force_evaluation(self):
        shop = self.shop
        for name in ("VIP", "黑名单"):
            self.create_tag(name)
        vip = [m for i, m in enumerate(shop.members) if i % 3 != 1]
        black = [m for i, m in enumerate(shop.members) if i % 5 == 0]
        self.change("VIP", {"add": [m["id"] for m in vip]})
        self.change("黑名单", {"add": ["phone:" + m["phone"] for m in black]})
        for m in vip:
            m["tags"].add("VIP")
        for m in black:
            m["tags"].add("黑名单")
        today = shop.today
        questions = [
            ('tag("VIP")', lambda m: "VIP" in m["tags"]),
            ('tag("VIP") and city = "深圳"', lambda m: "VIP" in m["tags"] and m["city"] == "深圳"),
            ('tag("VIP") and not tag("黑名单")', lambda m: "VIP" in m["tags"] and "黑名单" not in m["tags"]),
            ('not tag("VIP") or orders_30d >= 2', lambda m: "VIP" not in m["tags"] or orders_in(m, 30) >= 2),
            ('tag("VIP") and tag("爱美妆")', lambda m: "VIP" in m["tags"] and DEFAULT_TAGS["爱美妆"](m)),
            ('tag("零食吃货") or tag("囤货达人")', lambda m: DEFAULT_TAGS["零食吃货"](m) or DEFAULT_TAGS["囤货达人"](m)),
            ('tag("周末亲子") and not tag("IP粉丝")', lambda m: DEFAULT_TAGS["周末亲子"](m) and not DEFAULT_TAGS["IP粉丝"](m)),
            ('tag("tier:standard") and tag("VIP")', lambda m: tier_of(m) == "standard" and "VIP" in m["tags"]),
            ('tag("lifecycle:intro") or tag("黑名单")',
             lambda m: stage_of(m, today) == "intro" or "黑名单" in m["tags"]),
            ('tag("VIP") and bought("snacks", 180, 2) and max_units_90d >= 3',
             lambda m: "VIP" in m["tags"] and bought(m, "snacks", 180, 2) and max_units(m, 90) >= 3),
            ('weekend_orders_365d >= 1 and not tag("VIP")',
             lambda m: weekend_orders(m, 365) >= 1 and "VIP" not in m["tags"]),
            ('bought("beauty", 365, 2) and not tag("爱美妆")', lambda m: False),
        ]
        for expr, keep in questions:
            self.assertEqual(self.count(expr), shop.count(keep), expr)
        # A sample draws from the tagged members only.
        status, sample, _ = self.server.json("POST", API + "/segments/sample", {"expr": 'tag("黑名单")', "size": 1000})
        self.assertEqual(status, 200, sample)
        self.assertEqual(sorted(sample["member_ids"]), shop.ids(lambda m: "黑名单" in m["tags"]))
        # Unknown tags are 422 naming the expression.
        status, obj, _ = self.server.json("POST", API + "/segments/count", {"expr": 'city = "深圳" and tag("不存在")'})
        self.assertEqual(status, 422, obj)
        self.assertEqual(obj["errors"][0]["field"], "expr")
        # A check against the tenant's data points at the value: the name.
        self.assertEqual(obj["position"], len('city = "深圳" and tag(') + 1, obj)


class RuleTagsTest(ShopTestCase):
    def test_rule_tags_follow_their_rule_as_members_tags_and_orders_change(self):
        shop = self.shop
        ms = shop.members
        self.create_tag("VIP")
        vip = [m for m in ms[:20] if m["city"] in ("深圳", "上海")]
        self.change("VIP", {"add": [m["id"] for m in vip]})
        for m in vip:
            m["tags"].add("VIP")

        def sz_vip(m):
            return "VIP" in m["tags"] and m["city"] == "深圳"

        t = self.create_tag("深圳VIP", kind="rule", group="运营", rule='TAG("VIP")  AND city="深圳"',
                            description="VIPs in Shenzhen")
        self.assertEqual((t["kind"], t["rule"], t["group"]), ("rule", 'tag("VIP") and city = "深圳"', "运营"))
        self.assertEqual(t["count"], shop.count(sz_vip))
        self.assertTrue(0 < t["count"] < len(vip))
        self.assert_holders("深圳VIP", sz_vip)

        # Members added to and removed from the manual tag move the rule tag.
        outsider = next(m for m in ms if m["city"] == "深圳" and "VIP" not in m["tags"])
        self.change("VIP", {"add": [outsider["id"]]})
        outsider["tags"].add("VIP")
        self.assert_holders("深圳VIP", sz_vip, "after an add")
        self.assertIn("深圳VIP", self.member(outsider)["tags"])
        leaver = next(m for m in vip if m["city"] == "深圳")
        self.change("VIP", {"remove": [leaver["id"]]})
        leaver["tags"].discard("VIP")
        self.assert_holders("深圳VIP", sz_vip, "after a remove")
        self.assertNotIn("深圳VIP", self.member(leaver)["tags"])
        # Profile changes move it too: a 上海 VIP moves to 深圳.
        mover = next(m for m in vip if m["city"] == "上海")
        shop.set_city(mover, "深圳")
        self.send()
        self.assert_holders("深圳VIP", sz_vip, "after a move")
        view = self.member(mover)
        self.assertIn("深圳VIP", view["tags"])
        self.assertNotIn("深圳VIP", [x["tag"] for x in view["tagged"]])  # nobody tagged it by hand

        # A rule on recent orders: new orders and refunds move it.
        def regular(m):
            return orders_in(m, 30) >= 2

        self.create_tag("常客", kind="rule", rule="orders_30d >= 2")
        self.assert_holders("常客", regular)
        newcomer = next(m for m in ms if orders_in(m, 30) == 0)
        shop.add_order(newcomer, 3, [("food", 1, 19_90)])
        self.send()
        self.assert_holders("常客", regular, "after one order")
        second = shop.add_order(newcomer, 0, [("food", 2, 19_90)])
        self.send()
        self.assertTrue(regular(newcomer))
        self.assert_holders("常客", regular, "after two orders")
        self.assertIn("常客", self.member(newcomer)["tags"])
        shop.refund_all(newcomer, second)
        self.send()
        self.assertFalse(regular(newcomer))
        self.assert_holders("常客", regular, "after a full refund")
        # A member first met through an order can qualify at once.
        fresh = shop.add_member(profiled=False, orders=0)
        shop.add_order(fresh, 2, [("toys", 1, 59_00)])
        shop.add_order(fresh, 1, [("toys", 1, 59_00)])
        self.send()
        self.assert_holders("常客", regular, "after a new member's orders")
        self.assertIn("常客", self.member(fresh)["tags"])

        # A rule may read another rule tag.
        self.create_tag("深圳常客VIP", kind="rule", rule='tag("深圳VIP") and tag("常客")')
        self.assert_holders("深圳常客VIP", lambda m: sz_vip(m) and regular(m))

    def test_rules_are_checked_and_tags_read_by_rules_are_protected(self):
        shop = self.shop
        ms = shop.members
        self.create_tag("VIP")
        self.change("VIP", {"add": [m["id"] for m in ms[:10]]})
        for m in ms[:10]:
            m["tags"].add("VIP")

        # Bad rules: 422 with where and why, naming "rule"; nothing is created.
        for rule, position in [('tag("VIP") and', len('tag("VIP") and') + 1),
                               ('city = "深圳" or teir = "gold"', len('city = "深圳" or ') + 1),
                               ("orders_30d >", len("orders_30d >") + 1),
                               ('tier = "platinum"', len("tier = ") + 1),
                               ('tag("坏") and city = "深圳"', None)]:
            obj = self.create_tag("坏", expect=422, kind="rule", rule=rule)
            self.assertIsInstance(obj.get("position"), int, obj)
            if position:
                self.assertEqual(obj["position"], position, (rule, obj))
            self.assertEqual(obj["errors"][0]["field"], "rule", obj)
            self.assertTrue(obj["detail"], obj)
        obj = self.create_tag("坏", expect=422, kind="rule", rule='tag("不存在")')
        self.assertEqual(obj["errors"][0]["field"], "rule", obj)
        self.tag("坏", expect=404)

        # A reads VIP; B reads A; A made to read B would loop.
        self.create_tag("A", kind="rule", rule='tag("VIP")')
        self.create_tag("B", kind="rule", rule='tag("A") and city = "深圳"')
        self.assert_holders("B", lambda m: "VIP" in m["tags"] and m["city"] == "深圳")
        obj = self.call("PUT", "/tags/A", {"kind": "rule", "rule": 'tag("B")'}, expect=422)
        self.assertEqual(obj["errors"][0]["field"], "rule", obj)
        self.assertIsInstance(obj["position"], int, obj)
        obj = self.call("PUT", "/tags/A", {"kind": "rule", "rule": 'city = "深圳" or tag("A")'}, expect=422)
        self.assertEqual(obj["errors"][0]["field"], "rule", obj)
        # Through more than one rule too: C reads B reads A.
        self.create_tag("C", kind="rule", rule='tag("B") or tag("VIP")')
        obj = self.call("PUT", "/tags/A", {"kind": "rule", "rule": 'tag("VIP") and not tag("C")'}, expect=422)
        self.assertEqual(obj["errors"][0]["field"], "rule", obj)
        self.assertEqual(self.tag("A")["rule"], 'tag("VIP")')  # unchanged
        self.assert_holders("A", lambda m: "VIP" in m["tags"])

        # Tags read by a rule cannot be deleted; rule tags take no members.
        for name in ("VIP", "A"):
            obj = self.call("DELETE", "/tags/" + name, expect=409)
            self.assertIn("read by", obj["detail"])
        self.assert_holders("VIP", lambda m: "VIP" in m["tags"], "after refused deletes")
        for body in ({"add": [ms[20]["id"]]}, {"remove": [ms[0]["id"]]}, {"add_matching": 'city = "深圳"'}):
            self.change("A", body, expect=409)
        self.assert_holders("A", lambda m: "VIP" in m["tags"], "after refused tagging")
        # The kind stays: a rule tag cannot turn manual, nor a manual one rule.
        obj = self.call("PUT", "/tags/A", {"kind": "manual", "group": "x"}, expect=422)
        self.assertEqual([e["field"] for e in obj["errors"]], ["kind"], obj)
        obj = self.call("PUT", "/tags/A", {"group": "x"}, expect=422)  # a PUT without kind keeps it: a rule is needed
        self.assertEqual([e["field"] for e in obj["errors"]], ["rule"], obj)
        self.assertEqual(self.tag("A")["group"], "")
        obj = self.call("PUT", "/tags/VIP", {"kind": "rule", "rule": "orders_30d >= 1"}, expect=422)
        self.assertEqual([e["field"] for e in obj["errors"]], ["kind"], obj)
        self.call("PUT", "/tags/NOPE", {"kind": "rule", "rule": "orders_30d >= 1"}, expect=404)

        # PUT changes the rule; the count follows. Group and description change too.
        t = self.call("PUT", "/tags/B", {"kind": "rule", "rule": 'tag("A") and city != "深圳"', "group": "g2",
                                         "description": "VIPs elsewhere", "by": "E0001"})
        self.assertEqual((t["rule"], t["group"], t["description"], t["created_by"]),
                         ('tag("A") and city != "深圳"', "g2", "VIPs elsewhere", "local"), t)  # its maker stays
        self.assert_holders("B", lambda m: "VIP" in m["tags"] and m["city"] is not None and m["city"] != "深圳")
        listed = {x["name"]: x for x in self.call("GET", "/tags")["tags"]}
        self.assertEqual(listed["B"], self.tag("B"))
        # A manual tag's group and description change; its members stay.
        t = self.call("PUT", "/tags/VIP", {"group": "运营", "description": "best"})
        self.assertEqual((t["kind"], t["group"], t["description"]), ("manual", "运营", "best"), t)
        self.assert_holders("VIP", lambda m: "VIP" in m["tags"], "after a PUT")

        # Delete in order: C, B, then A, then VIP.
        self.call("DELETE", "/tags/B", expect=409)  # C reads it
        self.call("DELETE", "/tags/C", expect=204)
        self.call("DELETE", "/tags/B", expect=204)
        self.tag("B", expect=404)
        self.call("DELETE", "/tags/B", expect=404)
        status, obj, _ = self.server.json("POST", API + "/segments/count", {"expr": 'tag("B")'})
        self.assertEqual(status, 422, obj)
        self.call("DELETE", "/tags/A", expect=204)
        self.call("DELETE", "/tags/VIP", expect=204)
        self.tag("VIP", expect=404)
        self.assertNotIn("VIP", self.member(ms[0])["tags"])
        # Default tags can be deleted like any other.
        self.call("DELETE", "/tags/" + path_of("囤货达人"), expect=204)
        self.assertEqual(sorted(x["name"] for x in self.call("GET", "/tags")["tags"]),
                         sorted(set(DEFAULT_RULES) - {"囤货达人"}))
        self.assert_healthy(self.server)


class MergeTest(ShopTestCase):
    MEMBERS = 12

    def test_a_merge_moves_the_merged_members_manual_tags_to_the_survivor(self):
        shop = self.shop
        for name in ("VIP", "老客", "新客"):
            self.create_tag(name)
        # Two members: one known by phone, one by unionid only.
        first = shop.members[0]
        unionid = "o6_merge_me"
        status, obj, _ = self.server.ingest("shop", [{"type": "member", "member": {"unionid": unionid}, "city": "杭州"}])
        self.assertEqual((status, obj["accepted"]), (200, 1), obj)
        second_id = self.call("GET", "/members/unionid:" + unionid)["member_id"]
        self.assertNotEqual(second_id, first["id"])
        self.change("VIP", {"add": [second_id], "by": "E0001"})
        self.change("老客", {"add": [second_id, first["id"]], "by": "E0002"})
        self.change("新客", {"add": [first["id"]], "by": "E0003"})
        others = [m["id"] for m in shop.members[1:4]]
        self.change("新客", {"add": others})
        counts = {name: self.tag_count(name) for name in ("VIP", "老客", "新客")}
        self.assertEqual(counts, {"VIP": 1, "老客": 2, "新客": 4})

        # One member event with both identities merges them.
        status, obj, _ = self.server.ingest("shop", [{"type": "member", "member": {"phone": first["phone"],
                                                                                   "unionid": unionid}}])
        self.assertEqual(status, 200, obj)
        survivor = self.call("GET", "/members/phone:" + first["phone"])
        self.assertEqual(self.call("GET", "/members/unionid:" + unionid)["member_id"],
                         survivor["member_id"])
        merged_ids = {x["merged_member_id"] for x in survivor["merges"]}
        self.assertEqual(merged_ids | {survivor["member_id"]}, {first["id"], second_id})

        def check(why):
            view = self.call("GET", "/members/%d" % survivor["member_id"])
            self.assertLessEqual({"VIP", "老客", "新客"}, set(view["tags"]), why)
            tagged = {x["tag"] for x in view["tagged"]}
            self.assertLessEqual({"VIP", "老客", "新客"}, tagged, why)
            # The merged member no longer counts; the survivor holds each tag once.
            self.assertEqual({name: self.tag_count(name) for name in counts}, {"VIP": 1, "老客": 1, "新客": 4}, why)
            status, sample, _ = self.server.json("POST", API + "/segments/sample", {"expr": 'tag("VIP")', "size": 10})
            self.assertEqual(sample["member_ids"], [survivor["member_id"]], why)
            self.assertEqual(self.count('tag("老客") and tag("新客") and tag("VIP")'), 1, why)

        check("after the merge")
        self.server.kill()
        self.server.start()
        check("after a crash")
        self.server.restart()
        check("after a restart")


class DurabilityTest(ShopTestCase):
    maxDiff = None
    MEMBERS = 24

    def state(self):
        """Everything about tags a user can see."""
        listing = self.call("GET", "/tags")
        # System tags in any order; RFM classes are scored by the day run a
        # start makes, so they are not compared.
        out = {"tags": listing["tags"],
               "system": {t["name"]: t["count"] for t in listing["system"] if not t["name"].startswith("rfm:")}}
        for t in out["tags"]:
            if t["kind"] == "manual":
                out["ops:" + t["name"]] = self.operations(t["name"])
        for m in self.shop.members:
            view = self.member(m)
            out["member:%d" % m["id"]] = (view["tags"], view["tagged"])
        return out

    def test_tags_holders_and_history_survive_a_crash_and_a_restart(self):
        shop = self.shop
        ms = shop.members
        self.create_tag("VIP", group="运营", description="best", by="E0001")
        self.create_tag("黑名单")
        self.create_tag("VIP深圳", kind="rule", rule='tag("VIP") and city = "深圳"')
        self.change("VIP", {"add": [m["id"] for m in ms[:12]], "by": "E0007", "note": "第一批"})
        self.change("VIP", {"remove": [ms[0]["id"], ms[1]["id"]], "by": "E0008", "note": "退出"})
        self.change("VIP", {"add_matching": 'city = "杭州"', "by": "E0009"})
        self.change("黑名单", {"add": ["phone:" + ms[5]["phone"]], "by": "风控"})
        self.call("DELETE", "/tags/" + path_of("零食吃货"), expect=204)
        for i, m in enumerate(ms):
            if (2 <= i < 12) or m["city"] == "杭州":
                m["tags"].add("VIP")
        ms[5]["tags"].add("黑名单")
        before = self.state()
        names = {t["name"]: t for t in before["tags"]}
        self.assertNotIn("零食吃货", names)
        self.assertEqual(names["VIP"]["count"], shop.count(lambda m: "VIP" in m["tags"]))
        self.assertEqual(names["VIP深圳"]["count"], shop.count(lambda m: "VIP" in m["tags"] and m["city"] == "深圳"))
        self.assertEqual(len(before["ops:VIP"]), 3)

        self.server.kill()
        self.server.start()
        self.assertEqual(self.state(), before, "after kill -9")
        self.server.restart()
        self.assertEqual(self.state(), before, "after a clean restart")
        # And the tags still work after the reload.
        self.change("VIP", {"add": [ms[0]["id"]], "by": "E0010"})
        ms[0]["tags"].add("VIP")
        self.assert_holders("VIP", lambda m: "VIP" in m["tags"], "after the reload")
        self.assert_holders("VIP深圳", lambda m: "VIP" in m["tags"] and m["city"] == "深圳", "after the reload")

    def test_a_manual_tag_deleted_and_made_again_starts_empty(self):
        ms = self.shop.members
        self.create_tag("VIP")
        self.change("VIP", {"add": [m["id"] for m in ms[:6]], "by": "E0001"})
        self.change("VIP", {"remove": [ms[0]["id"]]})
        self.assertEqual(self.tag_count("VIP"), 5)
        self.call("DELETE", "/tags/VIP", expect=204)
        status, obj, _ = self.server.json("POST", API + "/segments/count", {"expr": 'tag("VIP")'})
        self.assertEqual(status, 422, obj)
        for m in ms[:6]:
            self.assertNotIn("VIP", self.member(m)["tags"])

        def empty(why):
            self.assertEqual(self.tag_count("VIP"), 0, why)
            self.assertEqual(self.count('tag("VIP")'), 0, why)
            for m in ms[:6]:
                view = self.member(m)
                self.assertNotIn("VIP", view["tags"], why)
                self.assertNotIn("VIP", [x["tag"] for x in view["tagged"]], why)

        self.create_tag("VIP")
        empty("made again")
        self.server.restart()
        empty("made again, after a restart")
        self.server.kill()
        self.server.start()
        empty("made again, after a crash")

        # Tag one member of the old holders, delete and make it again, tag another.
        self.change("VIP", {"add": [ms[3]["id"]], "by": "E0002"})
        self.call("DELETE", "/tags/VIP", expect=204)
        self.create_tag("VIP")
        got = self.change("VIP", {"add": [ms[4]["id"]], "by": "E0003"})
        self.assertEqual(got["added"], 1)

        def only_fifth(why):
            status, sample, _ = self.server.json("POST", API + "/segments/sample", {"expr": 'tag("VIP")', "size": 10})
            self.assertEqual(sample["member_ids"], [ms[4]["id"]], why)
            view = self.member(ms[4])
            self.assertEqual([(x["tag"], x["by"]) for x in view["tagged"] if x["tag"] == "VIP"], [("VIP", self.by_of("E0003"))])

        only_fifth("made again twice")
        self.server.kill()
        self.server.start()
        only_fifth("made again twice, after a crash")
        # A manual tag made again as a rule tag, and back: still nobody from before.
        self.call("DELETE", "/tags/VIP", expect=204)
        self.create_tag("VIP", kind="rule", rule='city = "深圳"')
        self.assertEqual(self.tag_count("VIP"), self.shop.count(lambda m: m["city"] == "深圳"))
        self.call("DELETE", "/tags/VIP", expect=204)
        self.create_tag("VIP")
        self.server.restart()
        empty("manual, rule, manual again, after a restart")


if __name__ == "__main__":
    unittest.main()
