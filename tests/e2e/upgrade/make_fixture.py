#!/usr/bin/env python3
"""Makes the upgrade fixture: a store written by an OLD pond, and what it answered.

    python3 tests/e2e/upgrade/make_fixture.py --pond /work/old/pond \\
        --out tests/e2e/upgrade/fixture-fc29c85

Run it only with the old binary the fixture is named after (README.md here):
the fixture stands for data written before the store became one journal, so
a newer binary must never re-make it.

What it makes in --out:

- data/          a SQLite data directory: `pond demo` (300 members, seed 7,
                 orders up to --end) and then, through `pond serve`, rows of
                 every kind the store keeps (store.hpp's WriteBatch): member
                 events with profile changes and merges, orders, refunds,
                 points redeemed and adjusted, tier and stage changes, day
                 rows, an expired lot, settings (loyalty, tags, saved
                 segments, coupon templates and rules, activities), master
                 data, idempotency answers, tag operations, snapshots,
                 coupon events and activity events.
- answers.json   [{"method","path",("request"),"status","body" | "text"}]:
                 what the old server answered, after a restart on data/,
                 to every read route of a tenant (and to the questions that
                 change nothing), volatile fields stripped.
- pg.sql         the same steps on PostgreSQL (`--store`), as pg_dump wrote it.
- answers-pg.json  what the old server answered on that PostgreSQL store.
                 It cannot be answers.json: coupon codes are random (OpenSSL)
                 and the instants of writes are the wall clock's, so the two
                 runs differ there and only there (checked, see meta.json).
- meta.json      the old commit, the instant the answers were taken
                 ("clock", for `pond serve --clock manual@...`), the volatile
                 fields with a reason each, the idempotent POSTs to replay,
                 and the comparison of the two backends.

Deterministic apart from the wall clock: fixed seeds, fixed ids, fixed
idempotency keys, order times fixed relative to --end. The steps assume the
script runs on --end's day (or within a day after it): coupon rules give
coupons only for orders less than a day old.

Python 3 standard library only; PondServer from tests/e2e/pond_server.py.
"""

import argparse
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
E2E = os.path.dirname(HERE)
REPO = os.path.dirname(os.path.dirname(E2E))
sys.path.insert(0, E2E)

# The fixture is made on the backend its flags name, never on a test cluster.
os.environ.pop("POND_TEST_PG_URL_FILE", None)

from pond_server import PondServer  # noqa: E402

TENANT = "demo"
DEMO_MEMBERS = 300
DEMO_SEED = 7
DEFAULT_END = "2026-12-07T00:00:00+08:00"
API = "/api/v1/tenants/" + TENANT
SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))
READY_TIMEOUT = 60.0
PG_NODE = "fixture"

# Fields that differ between two identical requests or across a restart
# (found by taking every answer twice, across a restart), stripped before
# answers are stored and compared. `route` is a regex on "METHOD /path"
# (no query), `field` a dotted path in the body ("*" = every list element).
VOLATILE = [
    {"route": r"POST /api/v1/tenants/[^/]+/segments/(count|sample)", "field": "took_ms",
     "reason": "milliseconds the server spent answering the question: differs on every request"},
    {"route": r"GET /api/v1/tenants/[^/]+/reports/coupons", "field": "as_of",
     "reason": "the server's now (to the microsecond) when the report was made: moves with the wall clock, "
               "and under --clock manual@ is that whole second, never the instant recorded"},
]

CODE_RE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{16}$")
INSTANT_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d$")


def log(*args):
    print("make_fixture:", *args, file=sys.stderr, flush=True)


def rfc3339(t):
    return t.astimezone(SHANGHAI).isoformat(timespec="seconds")


def q(name):
    """One path segment (tag names are Chinese)."""
    return urllib.parse.quote(name, safe="")


# -- talking to a server -----------------------------------------------------

def wait_ready(server, timeout=READY_TIMEOUT):
    """Until /healthz says ok and the tenant answers (503 while it loads)."""
    deadline = time.monotonic() + timeout
    while True:
        status, obj, _ = server.json("GET", "/healthz")
        if status == 200 and obj.get("status") == "ok":
            status, obj, _ = server.json("GET", API)
            if status == 200:
                return
        if time.monotonic() > deadline:
            raise RuntimeError("the tenant was not served within %.0f s: %s %s" % (timeout, status, obj))
        time.sleep(0.05)


class Client:
    """Calls one server, checks each status, and keeps the idempotent POSTs."""

    def __init__(self, server):
        self.server = server
        self.idempotent = []

    def call(self, method, path, body=None, expect=200, key=None, content_type="application/json", reason=None):
        path = path if path.startswith("/api/") else API + path
        headers = {}
        raw = None
        if body is not None:
            raw = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
            headers["Content-Type"] = content_type
        if key:
            headers["Idempotency-Key"] = key
        status, hdrs, data = self.server.request(method, path, raw, headers)
        obj = json.loads(data.decode("utf-8")) if data else None
        if status != expect or (reason and obj.get("reason") != reason):
            raise RuntimeError("%s %s %s: expected %d %s, got %d: %s" % (method, path, raw, expect, reason or "",
                                                                      status, obj))
        if key:
            self.idempotent.append({"method": method, "path": path, "key": key, "content_type": content_type,
                                    "request": raw, "status": status, "body": obj})
        return obj

    def ingest(self, events, accepted=None, key=None, duplicates=0):
        body = "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events)
        obj = self.call("POST", "/events", body, key=key, content_type="application/x-ndjson")
        want = len(events) - duplicates if accepted is None else accepted
        if obj["accepted"] != want or obj["rejected"] or obj["duplicates"] != duplicates:
            raise RuntimeError("events: expected %d accepted, %d duplicates: %s" % (want, duplicates, obj))
        return obj


# -- the changes ---------------------------------------------------------------

def pick_members(members):
    """Demo members to merge, redeem from, tag..., chosen by rule from the demo (seed 7)."""
    def has(m, kind):
        return bool(m["identities"].get(kind))

    buyers = [m for m in members if m["orders"]["count"] > 0]
    pick = {}
    # An order naming A's phone and B's POS number merges B into A.
    pick["A"] = next(m for m in buyers if has(m, "phone") and m["member_id"] >= 10)
    pick["B"] = next(m for m in buyers if has(m, "pos_id") and m["member_id"] > pick["A"]["member_id"] + 10)
    # A member event naming C's unionid and D's external_userid merges D into C;
    # D holds a manual tag, a coupon and a flash-sale claim first.
    taken = {pick["A"]["member_id"], pick["B"]["member_id"]}
    pick["C"] = next(m for m in buyers if has(m, "unionid") and m["member_id"] >= 40 and m["member_id"] not in taken)
    pick["D"] = next(m for m in buyers if has(m, "external_userid") and m["member_id"] > pick["C"]["member_id"] + 10
                     and m["member_id"] not in taken)
    taken |= {pick["C"]["member_id"], pick["D"]["member_id"]}
    # E takes in the new member 13900000004 (by E's POS number).
    pick["E"] = next(m for m in members if has(m, "pos_id") and m["member_id"] >= 100 and m["member_id"] not in taken)
    taken.add(pick["E"]["member_id"])
    rich = [m for m in members if m["points"]["balance"] >= 800 and m["member_id"] not in taken]
    pick["R"], pick["P"] = rich[0], rich[1]          # redeems; spends points in the points mall
    taken |= {pick["R"]["member_id"], pick["P"]["member_id"]}
    poor = [m for m in members if m["points"]["balance"] < 100 and m["member_id"] not in taken]
    pick["Q"] = poor[0]                               # too few points
    taken.add(pick["Q"]["member_id"])
    rest = [m for m in members if m["member_id"] not in taken and m["member_id"] >= 150]
    pick["L"] = rest[:6]                              # lucky draw, group buy, bargain, coupons
    return pick


def populate(c, end):
    """Everything the fixture holds beyond the demo; returns what the reads need."""
    day = end  # orders are paid on --end's day, hours after its start
    at = lambda hours, minutes=0: rfc3339(day + datetime.timedelta(hours=hours, minutes=minutes))  # noqa: E731
    win = {"starts_at": rfc3339(end - datetime.timedelta(days=2)),
           "ends_at": rfc3339(end + datetime.timedelta(days=60))}
    today_weekday = datetime.datetime.now(SHANGHAI).isoweekday()

    members = c.call("GET", "/members?limit=1000&reveal=phone")["members"]
    assert len(members) == DEMO_MEMBERS, len(members)
    p = pick_members(members)
    mid = {k: v["member_id"] for k, v in p.items() if k != "L"}
    L = [m["member_id"] for m in p["L"]]
    ident = lambda k, kind: p[k]["identities"][kind][0]  # noqa: E731

    # Master data: one of each through events, one of each through its own
    # endpoint (with an Idempotency-Key), and a demo store replaced.
    c.ingest([
        {"type": "category", "id": "fixture_food", "name": "升级测试食品", "parent": "food"},
        {"type": "product", "sku": "SKU-FX-1", "name": "升级测试饼干", "category": "fixture_food", "price_fen": 4400},
        {"type": "store", "id": "S900", "name": "升级测试店", "city": "杭州", "lat": 30.2741, "lng": 120.1551},
        {"type": "staff", "id": "E9000", "name": "测试店长", "store": "S900"},
        {"type": "store", "id": "S001", "name": "深圳万象城店（新址）", "city": "深圳", "lat": 22.5390, "lng": 114.1110},
    ], key="fx-master-events")
    c.call("POST", "/categories", {"id": "fixture_toys", "name": "升级测试玩具", "parent": "toys"})
    c.call("POST", "/products", [{"sku": "SKU-FX-2", "name": "升级测试积木", "category": "fixture_toys",
                                  "price_fen": 12900}])
    c.call("POST", "/stores", {"id": "S901", "name": "升级测试二店", "city": "宁波"}, key="fx-store-901")
    c.call("POST", "/staff", {"id": "E9001", "name": "测试导购", "store": "S901"})

    # Rules before the orders that trigger them.
    t = {}
    t["cash"] = c.call("POST", "/coupon-templates", {
        "name": "满68减10", "kind": "cash_off", "threshold_fen": 6800, "off_fen": 1000, "valid_days": 7,
        "stock": 1000, "per_member_limit": 3}, expect=201)
    t["restore"] = c.call("POST", "/coupon-templates", {
        "name": "无门槛8元", "kind": "no_threshold", "off_fen": 800, "valid_from": win["starts_at"],
        "valid_to": win["ends_at"], "restore_on_refund": True,
        "stackable": True}, expect=201)
    t["discount"] = c.call("POST", "/coupon-templates", {
        "name": "食品88折", "kind": "discount", "percent_off": 12, "threshold_fen": 3000,
        "scope": {"categories": ["food"], "channels": ["store", "miniprogram"]}, "valid_days": 14,
        "per_day_limit": 1, "stackable": True}, expect=201, key="fx-template-discount")
    t["exchange"] = c.call("POST", "/coupon-templates", {
        "name": "加1元换购", "kind": "exchange", "sku": "SKU-FX-1", "exchange_price_fen": 100, "face_value_fen": 4300,
        "cost_fen": 2000, "valid_from": win["starts_at"], "valid_to": win["ends_at"]}, expect=201)
    t["gift"] = c.call("POST", "/coupon-templates", {
        "name": "赠品积木", "kind": "gift", "sku": "SKU-FX-2", "valid_days": 30, "stock": 50}, expect=201)
    t["mall"] = c.call("POST", "/coupon-templates", {
        "name": "积分兑5元", "kind": "no_threshold", "off_fen": 500, "valid_days": 30, "stock": 1}, expect=201)
    t["retired"] = c.call("POST", "/coupon-templates", {
        "name": "已停用券", "kind": "cash_off", "threshold_fen": 10000, "off_fen": 2000, "valid_days": 7}, expect=201)
    c.call("POST", "/coupon-templates/%d/retire" % t["retired"]["id"], {})
    tid = {k: v["id"] for k, v in t.items()}
    rules = {}
    rules["post"] = c.call("POST", "/coupon-rules", {
        "name": "支付后返券", "trigger": "post_payment", "template_id": tid["cash"], "min_paid_fen": 3500,
        "payments": ["wechat_pay"], "channels": ["store"]}, expect=201)
    rules["first"] = c.call("POST", "/coupon-rules", {
        "name": "首单礼", "trigger": "first_purchase", "template_id": tid["restore"]}, expect=201)
    rules["upgrade"] = c.call("POST", "/coupon-rules", {
        "name": "升金卡礼", "trigger": "tier_upgrade", "template_id": tid["exchange"], "tiers": ["gold"]}, expect=201)
    rules["day"] = c.call("POST", "/coupon-rules", {
        "name": "会员日领券", "trigger": "member_day", "template_id": tid["discount"], "weekday": today_weekday},
        expect=201)
    rules["birthday"] = c.call("POST", "/coupon-rules", {
        "name": "生日券", "trigger": "birthday", "template_id": tid["restore"], "tiers": ["gold"]}, expect=201)
    c.call("POST", "/coupon-rules/%d/deactivate" % rules["birthday"]["id"], {})
    c.call("POST", "/coupon-rules/%d/deactivate" % rules["first"]["id"], {})
    c.call("POST", "/coupon-rules/%d/activate" % rules["first"]["id"], {})

    # Loyalty configuration: a PATCH (with a key) that changes earning and
    # tier thresholds, so members move tier with cause `config`.
    config = c.call("GET", "/loyalty/config")
    tiers = config["tiers"]
    tiers[1]["threshold"] = 2500
    c.call("PATCH", "/loyalty/config", {"expiring_soon_days": 45, "channel_multiplier_pct": {"miniprogram": 150},
                                        "tiers": tiers}, key="fx-loyalty-patch")

    # Tags: a manual one, a rule one, one made and deleted.
    c.call("POST", "/tags", {"name": "VIP", "group": "运营", "description": "到店贵宾"}, expect=201, key="fx-tag-vip")
    c.call("POST", "/tags", {"name": "活跃VIP", "kind": "rule", "rule": 'tag("VIP") and orders_30d >= 1',
                             "group": "运营"}, expect=201)
    c.call("PUT", "/tags/" + q("活跃VIP"), {"group": "运营", "description": "近30天下过单的VIP",
                                          "rule": 'tag("VIP") and orders_30d >= 1'})
    c.call("POST", "/tags", {"name": "临时名单", "group": "活动"}, expect=201)
    c.call("POST", "/tags/%s/members" % q("临时名单"), {"add": [L[0], L[1]], "by": "E0001"})
    c.call("DELETE", "/tags/" + q("临时名单"), expect=204)
    c.call("POST", "/tags/VIP/members", {"add": [mid["A"], "phone:" + ident("A", "phone"), mid["D"], L[0], L[1]],
                                         "by": "E0007", "note": "店内扫码"}, key="fx-tag-add")
    c.call("POST", "/tags/VIP/members", {"remove": [L[1]], "by": "E0007", "note": "误加"})
    c.call("POST", "/tags/VIP/members", {"add_matching": 'city = "深圳" and tier = "gold"', "by": "E0009",
                                         "note": "深圳金卡"})

    # Members: new ones by member events, a profile change, and a merge of
    # two new members (phone + unionid).
    c.ingest([
        {"type": "member", "member": {"phone": "13900000001"}, "name": "升级一号", "gender": "female",
         "birthday": "1990-12-07", "city": "杭州", "home_store": "S900", "source": "fixture_qr", "owner_staff": "E9000",
         "registered_at": at(-30 * 24)},
        {"type": "member", "member": {"unionid": "o6_fixture_union_1"}, "name": "微信用户", "city": "宁波",
         "source": "miniprogram"},
        {"type": "member", "member": {"member_id": mid["R"]}, "city": "苏州", "name": "改名测试"},
    ], key="fx-members")
    new1 = c.call("GET", "/members/phone:13900000001")["member_id"]
    new2 = c.call("GET", "/members/unionid:o6_fixture_union_1")["member_id"]
    c.ingest([{"type": "member", "member": {"phone": "13900000001", "unionid": "o6_fixture_union_1"},
               "gender": "female"}])
    # Sent again: a duplicate by content.
    c.ingest([{"type": "member", "member": {"phone": "13900000001", "unionid": "o6_fixture_union_1"},
               "gender": "female"}], accepted=0, duplicates=1)

    # Coupons for D before D is merged, and the wallet's moves.
    c.call("POST", "/coupons", {"template_id": tid["cash"], "member": {"member_id": mid["D"]}}, expect=201,
           key="fx-issue-d")
    c1 = c.call("POST", "/coupons", {"template_id": tid["cash"], "member": {"member_id": L[2]}}, expect=201)
    c2 = c.call("POST", "/coupons", {"template_id": tid["cash"], "member": {"member_id": L[2]}}, expect=201)
    c3 = c.call("POST", "/coupons", {"template_id": tid["restore"], "member": {"member_id": L[3]}}, expect=201)
    c4 = c.call("POST", "/coupons", {"template_id": tid["cash"], "member": {"member_id": L[3]}}, expect=201)
    c5 = c.call("POST", "/coupons", {"template_id": tid["discount"], "member": {"member_id": L[4]}}, expect=201)
    c.call("POST", "/coupons", {"template_id": tid["discount"], "member": {"member_id": L[4]}}, expect=409,
           reason="limit_reached",
           key="fx-issue-limit")  # per_day_limit: a stored refusal
    c.call("POST", "/coupons", {"template_id": tid["retired"], "member": {"member_id": L[4]}}, expect=409,
           reason="retired")
    c.call("POST", "/coupons/%s/lock" % c1["code"], {"order_id": "FX-CART-1", "hold_seconds": 600})
    c.call("POST", "/coupons/%s/unlock" % c1["code"], {"order_id": "FX-CART-1"})
    c.call("POST", "/coupons/%s/redeem" % c1["code"], {"order_id": "FX-POS-REDEEM-1", "paid_fen": 9900,
                                                       "store": "S900", "channel": "store"}, key="fx-redeem-c1")
    c.call("POST", "/coupons/%s/redeem" % c1["code"], {"order_id": "FX-POS-OTHER"}, expect=409,
           reason="already_redeemed", key="fx-redeem-c1-again")
    c.call("POST", "/coupons/%s/lock" % c2["code"], {"order_id": "FX-CART-2", "hold_seconds": 86400})  # held
    c.call("POST", "/coupons/%s/revoke" % c4["code"], {})
    c.call("POST", "/coupons/%s/redeem" % c5["code"], {"order_id": "FX-POS-UNSEEN"})  # unchecked: no such order

    # Orders (on --end's day): birthday points and a tier upgrade for the
    # new member, an order to the merged number, a channel multiplier, a
    # coupon used by an order and given back by a full refund, a partial
    # refund, the merge of B into A by an order, an order from 2024 whose
    # points expire at once.
    items = lambda sku, cat, qty, fen: [{"sku": sku, "category": cat, "qty": qty, "paid_fen": fen}]  # noqa: E731
    c.ingest([
        {"type": "order", "order_id": "FX-O-1", "member": {"phone": "13900000001"}, "channel": "store",
         "store": "S900", "staff": "E9000", "payment": "wechat_pay", "paid_at": at(9), "paid_fen": 88000,
         "items": [{"sku": "SKU-FX-1", "qty": 10, "paid_fen": 44000},
                   {"sku": "SKU-FX-2", "qty": 4, "paid_fen": 44000}]},
        {"type": "order", "order_id": "FX-O-2", "member": {"member_id": new2}, "channel": "miniprogram",
         "payment": "wechat_pay", "paid_at": at(10), "paid_fen": 5000,
         "items": items("SKU-FX-1", "fixture_food", 1, 5000)},
        {"type": "order", "order_id": "FX-O-3", "member": {"member_id": L[3]}, "channel": "store", "store": "S001",
         "payment": "alipay", "paid_at": at(10, 30), "paid_fen": 6000, "coupons": [c3["code"]],
         "items": items("SKU-00001", "beauty", 2, 6000)},
        {"type": "order", "order_id": "FX-POS-UNSEEN", "member": {"member_id": L[4]}, "channel": "store",
         "store": "S001", "payment": "cash", "paid_at": at(11), "paid_fen": 4500,
         "items": items("SKU-FX-1", "fixture_food", 1, 4500)},
        {"type": "order", "order_id": "FX-O-MERGE",
         "member": {"phone": ident("A", "phone"), "pos_id": ident("B", "pos_id")},
         "channel": "store", "store": "S002", "payment": "wechat_pay", "paid_at": at(11, 30), "paid_fen": 12000},
        {"type": "order", "order_id": "FX-O-OLD", "member": {"phone": "13900000003"}, "channel": "other",
         "paid_at": "2024-03-01T12:00:00+08:00", "paid_fen": 30000},
        {"type": "refund", "refund_id": "FX-R-1", "order_id": "FX-O-1", "amount_fen": 8000, "refunded_at": at(12)},
        {"type": "refund", "refund_id": "FX-R-2", "order_id": "FX-O-3", "amount_fen": 6000, "refunded_at": at(12, 30)},
    ], key="fx-orders")
    # Resent: duplicates by natural key.
    c.ingest([{"type": "order", "order_id": "FX-O-2", "member": {"member_id": new2}, "paid_at": at(10),
               "paid_fen": 1}], accepted=0, duplicates=1)
    for code in (c3["code"],):
        assert c.call("GET", "/coupons/" + code)["state"] == "issued", "the refund gives the coupon back"

    # Lucky-draw eligibility: orders inside the window.
    c.ingest([{"type": "order", "order_id": "FX-O-L%d" % i, "member": {"member_id": m}, "channel": "miniprogram",
               "payment": "wechat_pay", "paid_at": at(12, i), "paid_fen": 2000 + i}
              for i, m in enumerate([L[0], L[1], L[2], mid["C"]])])

    # Points: redeem (with a key, and once more by redemption id), adjust
    # both ways, a refused redemption stored with its key.
    c.call("POST", "/members/%d/points/redeem" % mid["R"], {"points": 300, "redemption_id": "FX-GIFT-1"},
           key="fx-redeem-points")
    c.call("POST", "/members/%d/points/redeem" % mid["R"], {"points": 300, "redemption_id": "FX-GIFT-1"})
    c.call("POST", "/members/phone:%s/points/adjust" % "13900000001", {"points": 500, "reason": "开业补偿"})
    c.call("POST", "/members/%d/points/adjust" % mid["R"], {"points": -50, "reason": "重复发放更正"})
    c.call("POST", "/members/%d/points/redeem" % mid["Q"], {"points": 100000, "redemption_id": "FX-TOO-MUCH"},
           expect=409, key="fx-redeem-too-much")

    # Activities, all in a window fixed around --end, with fixed seeds.
    act = {}
    act["flash"] = c.call("POST", "/activities", dict(win, kind="flash_sale", name="升级秒杀", sku="SKU-FX-1",
                                                       price_fen=990, stock=5, per_member_limit=2,
                                                       seed="00000000000000f1"), expect=201)
    act["group"] = c.call("POST", "/activities", dict(win, kind="group_buy", name="三人团", sku="SKU-FX-2",
                                                       price_fen=6900, list_price_fen=12900, stock=9, group_size=3,
                                                       group_hours=48, seed="00000000000000f2"), expect=201)
    act["bargain"] = c.call("POST", "/activities", dict(win, kind="bargain", name="砍一刀", sku="SKU-FX-2",
                                                         list_price_fen=12900, price_fen=100, helpers=2, stock=3,
                                                         bargain_hours=48, seed="00000000000000f3"), expect=201)
    act["draw"] = c.call("POST", "/activities", dict(win, kind="lucky_draw", name="抽奖", purchase_required=True,
                                                      prizes=[{"name": "积木", "stock": 2, "weight": 3,
                                                               "template_id": tid["gift"]},
                                                              {"name": "贴纸", "stock": 10, "weight": 3}],
                                                      none_weight=4, seed="00000000000000f4"), expect=201)
    act["mall"] = c.call("POST", "/activities", dict(win, kind="points_mall", name="积分兑券", points=200,
                                                      template_id=tid["mall"], stock=5, per_member_limit=0,
                                                      seed="00000000000000f5"), expect=201)
    aid = {k: v["id"] for k, v in act.items()}
    claim = lambda a, member, expect=201, key=None, reason=None, **extra: c.call(  # noqa: E731
        "POST", "/activities/%d/claims" % aid[a], dict({"member": member}, **extra), expect=expect, key=key,
        reason=reason)

    # Flash sale: D claims before its merge; a claim with a key; a refusal.
    claim("flash", {"member_id": mid["D"]})
    claim("flash", {"member_id": L[0]}, key="fx-claim-flash")
    claim("flash", {"member_id": L[0]})
    claim("flash", {"member_id": L[0]}, expect=409, reason="limit_reached")
    # The new member 13900000004 claims, is merged into E, then claims again
    # by its old number.
    c.ingest([{"type": "member", "member": {"phone": "13900000004"}, "name": "将被合并", "source": "fixture_qr"}])
    new4 = c.call("GET", "/members/phone:13900000004")["member_id"]
    claim("flash", {"phone": "13900000004"})
    # D merged into C (unionid + external_userid), E takes in 13900000004.
    c.ingest([
        {"type": "member",
         "member": {"unionid": ident("C", "unionid"), "external_userid": ident("D", "external_userid")}},
        {"type": "member", "member": {"phone": "13900000004", "pos_id": ident("E", "pos_id")}, "city": "上海"},
    ])
    claim("flash", {"member_id": new4})  # after the merge: E's claim
    claim("flash", {"member_id": mid["D"]}, expect=409, reason="sold_out")  # 5 taken

    # Group buy: one group completes, another waits.
    g = claim("group", {"member_id": L[0]})
    claim("group", {"member_id": L[1]}, group_id=g["claim_id"])
    claim("group", {"member_id": L[2]}, group_id=g["claim_id"])
    claim("group", {"member_id": L[3]}, group_id=g["claim_id"], expect=409, reason="group_full")
    claim("group", {"member_id": L[4]})

    # Bargain: a new member and an existing one help; the owner is refused.
    b = claim("bargain", {"member_id": L[5]})
    cuts = "/activities/%d/claims/%d/cuts" % (aid["bargain"], b["claim_id"])
    c.call("POST", cuts, {"member": {"member_id": L[5]}}, expect=409, reason="own_bargain")
    c.call("POST", cuts, {"member": {"phone": "13700000001"}}, expect=201, key="fx-cut-1")
    c.call("POST", cuts, {"member": {"phone": "13700000001"}}, expect=409, reason="already_helped")
    c.call("POST", cuts, {"member": {"member_id": L[0]}}, expect=201)
    helper = c.call("GET", "/members/phone:13700000001")["member_id"]
    b2 = claim("bargain", {"member_id": L[1]})  # open

    # Lucky draw: eligible members draw; one without an order is refused;
    # then it is cancelled, so its seed and rolls are shown.
    for m in (L[0], L[1], L[2], mid["C"]):
        claim("draw", {"member_id": m})
    claim("draw", {"member_id": mid["Q"]}, expect=409, reason="not_eligible")
    c.call("POST", "/activities/%d/cancel" % aid["draw"], {})

    # Points mall: a claim spends points for the coupon; the next finds its
    # stock gone; a member without the points is refused.
    claim("mall", {"member_id": mid["P"]})
    claim("mall", {"member_id": mid["P"]}, expect=409, reason="out_of_stock")  # the template's one coupon
    claim("mall", {"member_id": mid["Q"]}, expect=409, reason="insufficient_points")

    # Member day, bulk issue to a snapshot, snapshots, saved segments.
    c.call("POST", "/member-day/claims", {"member": {"member_id": L[5]}}, expect=201, key="fx-member-day")
    snap_gold = c.call("POST", "/segments/snapshots", {"name": "金卡", "expr": 'tier = "gold" and city = "深圳"'},
                       expect=201, key="fx-snapshot-gold")
    snap_vip = c.call("POST", "/segments/snapshots", {"name": "VIP", "expr": 'tag("VIP")'}, expect=201)
    c.call("POST", "/coupons/bulk", {"template_id": tid["cash"], "snapshot_id": snap_vip["id"]})
    saved_keep = c.call("POST", "/segments/saved", {"name": "近30天下单", "expr": "orders_30d >= 1"}, expect=201)
    saved_gone = c.call("POST", "/segments/saved", {"name": "临时", "expr": 'city = "杭州"'}, expect=201)
    c.call("POST", "/segments/saved", {"name": "VIP金卡", "expr": 'tag("VIP") and tier = "gold"'}, expect=201)
    c.call("DELETE", "/segments/saved/%d" % saved_gone["id"], expect=204)
    # The day's work was done when the server started: nothing more is due.
    c.call("POST", "/scheduler/run", {})

    return {
        "picked": mid, "others": L, "new": {"phone_member": new1, "union_member": new2, "merged_into_E": new4,
                                           "helper": helper},
        "templates": tid, "rules": {k: v["id"] for k, v in rules.items()}, "activities": aid,
        "claims": {"group": g["claim_id"], "bargain": b["claim_id"], "bargain_open": b2["claim_id"]},
        "snapshots": [snap_gold["id"], snap_vip["id"]], "saved": [saved_keep["id"], saved_gone["id"]],
        "coupon_members": sorted({mid["D"], mid["C"], L[2], L[3], L[4], L[5], mid["P"], L[0], L[1], new1, new4,
                                  mid["E"]}),
        "tags": ["VIP", "活跃VIP", "临时名单", "爱美妆", "零食吃货", "IP粉丝", "周末亲子", "囤货达人"],
    }


# -- the reads -----------------------------------------------------------------

COUNT_EXPRS = [
    'tier = "gold"', 'tier = "silver" and city = "深圳"', 'lifecycle = "mature"', 'lifecycle in ("lost", "decline")',
    'rfm = "important_value"', "points >= 1000", "growth between 2500 and 6000", "orders_365d >= 4",
    "spend_90d >= 99.50", "weekend_orders_365d >= 2", "max_units_365d >= 8", "last_order_days <= 30",
    "registered_days >= 365", "birthday_month = 12", "age >= 30", 'gender = "female" and source = "store_qr"',
    'home_store = "S900" or owner_staff = "E9000"', 'tag("VIP")', 'tag("活跃VIP")', 'tag("零食吃货") or tag("爱美妆")',
    'bought("food", 30)', 'bought("snacks", 365, 2)', 'bought("fixture_food", 7)', 'tag("source:fixture_qr")',
    'tag("lifecycle:growth")', 'tag("bargain_helper")',
]


def plan(c, made):
    """The requests whose answers the fixture keeps: (method, path, request body or None)."""
    get = lambda path: c.call("GET", path)  # noqa: E731
    reqs = [("GET", "/api/v1/tenants", None), ("GET", API, None)]
    add = lambda path, method="GET", body=None: reqs.append((method, API + path, body))  # noqa: E731

    picked, others, new = made["picked"], made["others"], made["new"]
    sample = sorted({1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 299, 300} | set(picked.values()) | set(others) |
                    set(new.values()))
    for m in sample:
        add("/members/%d" % m)
        add("/members/%d/loyalty?ledger_limit=500" % m)
    # Merged numbers answer their survivors; refs of every kind; whole phones.
    for ref in ("phone:13900000001", "unionid:o6_fixture_union_1", "phone:13900000004", "phone:13700000001",
                "phone:13900000003"):
        add("/members/" + ref)
    for key, kind, prefix in (("A", "phone", "phone:"), ("B", "pos_id", "pos:"), ("C", "unionid", "unionid:"),
                              ("D", "external_userid", "ext:")):
        survivor = get("/members/%d?reveal=phone" % picked[key])  # a merged number answers its survivor
        add("/members/" + prefix + survivor["identities"][kind][-1])
    add("/members/%d?reveal=phone" % picked["A"])
    add("/members/phone:13900000001?reveal=phone")
    add("/members/%d/loyalty" % picked["A"])
    add("/members/%d/loyalty?ledger_limit=5&ledger_before=1000000" % picked["A"])
    add("/members/%d/loyalty?ledger_limit=3" % new["phone_member"])
    for query in ("limit=1000", "limit=50&reveal=phone", "limit=50&after=250", "limit=20&city=%s" % q("深圳"),
                  "has_orders=false&limit=1000", "home_store=S900", "owner_staff=E9000", "source=bargain",
                  "gender=male&limit=30", "source=fixture_qr&has_orders=true"):
        add("/members?" + query)
    for m in made["coupon_members"]:
        add("/members/%d/coupons" % m)

    add("/loyalty/config")
    add("/loyalty/tiers")
    add("/lifecycle")
    for query in ("?from=2026-12-07&to=2026-12-07", "?from=2025-12-01&to=2026-11-30", "?from=2024-01-01&to=2026-12-31"):
        add("/lifecycle/transitions" + query)
    for what in ("stores", "staff", "products", "categories"):
        add("/" + what)

    add("/tags")
    for name in made["tags"]:
        add("/tags/" + q(name))
        add("/tags/%s/operations?limit=100" % q(name))
    add("/tags/%s" % q("tier:gold"))
    add("/tags/%s" % q("source:fixture_qr"))

    add("/segments/saved")
    for s in made["saved"]:
        add("/segments/saved/%d" % s)
    add("/segments/snapshots")
    for s in made["snapshots"]:
        add("/segments/snapshots/%d" % s)
        add("/segments/snapshots/%d?offset=1&limit=2" % s)
    for expr in COUNT_EXPRS:
        add("/segments/count", "POST", {"expr": expr})
    add("/segments/sample", "POST", {"expr": "orders_365d >= 1", "size": 10, "seed": 7})
    add("/segments/export", "POST", {"snapshot_id": made["snapshots"][1]})
    add("/segments/export?reveal=phone", "POST", {"expr": 'tag("VIP") or home_store = "S900"'})

    add("/coupon-templates")
    for t in sorted(set(made["templates"].values())):
        add("/coupon-templates/%d" % t)
    add("/coupon-rules")
    add("/reports/coupons")
    codes = []
    for m in made["coupon_members"]:
        codes += [x["code"] for x in get("/members/%d/coupons" % m)["coupons"]]
    for code in codes:
        add("/coupons/" + code)
    for m in (made["others"][2], made["others"][3], made["picked"]["C"]):
        add("/coupons/quote", "POST", {"member": {"member_id": m}, "store": "S900", "channel": "store",
                                       "items": [{"sku": "SKU-FX-1", "paid_fen": 8800},
                                                 {"sku": "SKU-00001", "category": "beauty", "paid_fen": 3000}]})

    add("/activities")
    for a in sorted(made["activities"].values()):
        add("/activities/%d" % a)
        add("/activities/%d/claims?limit=1000" % a)
        for cl in get("/activities/%d/claims?limit=1000" % a)["claims"]:
            add("/activities/%d/claims/%d" % (a, cl["claim_id"]))
    add("/activities/%d/claims?after=1&limit=2" % made["activities"]["flash"])
    return reqs


def check_coverage(c, reqs):
    """Every read route of a tenant in the old binary's own OpenAPI document is asked at least once."""
    doc = c.call("GET", "/api/v1/openapi.json")
    missing = []
    for route, ops in doc["paths"].items():
        if "get" not in ops or "{tenant}" not in route:
            continue
        pattern = re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(route))
        if not any(m == "GET" and re.fullmatch(pattern, p.split("?")[0]) for m, p, _ in reqs):
            missing.append(route)
    if missing:
        raise RuntimeError("no recorded request for %s" % missing)


def take(c, reqs):
    """Answers to REQS, in order, as stored (volatile fields stripped)."""
    out = []
    for method, path, body in reqs:
        raw = json.dumps(body, ensure_ascii=False) if body is not None else None
        status, hdrs, data = c.server.request(method, path, raw,
                                              {"Content-Type": "application/json"} if raw else None)
        entry = {"method": method, "path": path}
        if body is not None:
            entry["request"] = body
        entry["status"] = status
        if hdrs.get("content-type", "").startswith(("application/json", "application/problem+json")):
            entry["body"] = json.loads(data.decode("utf-8"))
        else:
            entry["text"] = data.decode("utf-8")
        out.append(entry)
    return out


def strip_volatile(entry, volatile=VOLATILE):
    """ENTRY (one answer) without the volatile fields of its route."""
    route = "%s %s" % (entry["method"], entry["path"].split("?")[0])
    for v in volatile:
        if "body" in entry and re.fullmatch(v["route"], route):
            _delete(entry["body"], v["field"].split("."))
    return entry


def _delete(obj, keys):
    if not keys:
        return
    if keys[0] == "*":
        for x in obj if isinstance(obj, list) else []:
            _delete(x, keys[1:])
    elif isinstance(obj, dict) and keys[0] in obj:
        if len(keys) == 1:
            del obj[keys[0]]
        else:
            _delete(obj[keys[0]], keys[1:])


def differences(a, b, where=""):
    """Every leaf where A and B differ: [(path, a, b)]."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in list(a) + [k for k in b if k not in a]:
            if k not in a or k not in b:
                out.append((where + "." + k, a.get(k, "<absent>"), b.get(k, "<absent>")))
            else:
                out += differences(a[k], b[k], where + "." + k)
        return out
    if isinstance(a, list) and isinstance(b, list):
        out = []
        for i in range(max(len(a), len(b))):
            if i >= len(a) or i >= len(b):
                out.append(("%s[%d]" % (where, i), a[i] if i < len(a) else "<absent>",
                            b[i] if i < len(b) else "<absent>"))
            else:
                out += differences(a[i], b[i], "%s[%d]" % (where, i))
        return out
    return [] if a == b else [(where, a, b)]


def answer_differences(pass_a, pass_b):
    """[(method path, field, a, b)] over two passes of the same requests."""
    out = []
    assert len(pass_a) == len(pass_b)
    for x, y in zip(pass_a, pass_b):
        where = "%s %s" % (x["method"], x["path"])
        if x["path"] != y["path"] or x["method"] != y["method"]:
            out.append((where, "(request)", x["path"], y["path"]))
            continue
        for field, va, vb in differences({k: v for k, v in x.items() if k not in ("method", "path")},
                                         {k: v for k, v in y.items() if k not in ("method", "path")}):
            out.append((where, field, va, vb))
    return out


def check_volatile(pass_a, pass_b):
    """Every difference between two passes must be a declared volatile field; returns those seen."""
    seen, unexplained = set(), []
    for where, field, va, vb in answer_differences(pass_a, pass_b):
        method, path = where.split(" ", 1)
        route = "%s %s" % (method, path.split("?")[0])
        hit = [i for i, v in enumerate(VOLATILE)
               if re.fullmatch(v["route"], route) and
               re.fullmatch(r"\.body\." + re.escape(v["field"]).replace(r"\*", r"\[\d+\]"), field)]
        if hit:
            seen.update(hit)
        else:
            unexplained.append((where, field, va, vb))
    if unexplained:
        for u in unexplained[:40]:
            log("  differs:", *u)
        raise RuntimeError("%d differences between two passes are not declared volatile" % len(unexplained))
    return sorted(seen)


# -- what the store holds ---------------------------------------------------------

TABLES = ["members", "orders", "refunds", "loyalty_journal", "settings", "merges", "stores", "staff", "products",
          "categories", "idempotency", "tag_operations", "snapshots", "coupon_events", "activity_events"]
JOURNAL_KINDS = ["redeem", "adjust", "expire", "tier", "stage", "day", "merge"]  # store.hpp's JournalKind
ROW_QUERIES = [("table " + t, "SELECT '', count(*) FROM %s" % t) for t in TABLES] + [
    ("loyalty_journal kind", "SELECT kind, count(*) FROM loyalty_journal GROUP BY kind ORDER BY kind"),
    ("settings key", "SELECT key, count(*) FROM settings GROUP BY key ORDER BY key"),
    ("coupon_events kind", "SELECT kind, count(*) FROM coupon_events GROUP BY kind ORDER BY kind"),
    ("activity_events kind", "SELECT kind, count(*) FROM activity_events GROUP BY kind ORDER BY kind"),
    ("members merged", "SELECT merged_into <> 0, count(*) FROM members GROUP BY merged_into <> 0 ORDER BY 1"),
]


def sqlite_rows(db):
    import sqlite3
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    try:
        return _rows(lambda sql: [tuple(r) for r in con.execute(sql)])
    finally:
        con.close()


def pg_rows(url):
    def query(sql):
        p = subprocess.run(["psql", url, "-X", "-q", "-At", "-F", "|", "-v", "ON_ERROR_STOP=1", "-c",
                            'SET search_path TO "tenant_%s"; %s' % (TENANT, sql)],
                           capture_output=True, timeout=60, check=True)
        return [tuple(line.split("|")) for line in p.stdout.decode().splitlines() if line]
    return _rows(query)


def _rows(query):
    """{"table members": {"": n}, "loyalty_journal kind": {"redeem": n, ...}, ...}"""
    out = {}
    for name, sql in ROW_QUERIES:
        got = {}
        for key, n in query(sql):
            key = str(key)
            if name == "loyalty_journal kind":
                key = JOURNAL_KINDS[int(key)]
            elif name == "members merged":
                key = "merged" if str(key) in ("1", "t", "True") else "standing"
            got[key] = int(n)
        out[name] = got
    return out


def check_rows(rows):
    """Rows of every kind the store keeps, or say which are missing."""
    missing = ["table " + t for t in TABLES if not rows["table " + t].get("")]
    missing += ["journal " + k for k in JOURNAL_KINDS if not rows["loyalty_journal kind"].get(k)]
    missing += ["coupon event " + k for k in ("issue", "lock", "unlock", "redeem", "restore", "revoke")
                if not rows["coupon_events kind"].get(k)]
    missing += ["activity event " + k for k in ("take", "help", "refused") if not rows["activity_events kind"].get(k)]
    missing += ["setting " + k for k in ("loyalty", "tags", "segments", "coupon_templates", "coupon_rules",
                                         "activities") if not rows["settings key"].get(k)]
    if missing:
        raise RuntimeError("the store holds no rows of: %s" % ", ".join(missing))


# -- backends -------------------------------------------------------------------

def run_pond(pond, args):
    p = subprocess.run([pond] + args, capture_output=True, timeout=300)
    if p.returncode != 0:
        raise RuntimeError("pond %s failed (%d): %s %s" % (" ".join(args), p.returncode, p.stdout, p.stderr))
    return p.stdout.decode()


def build(pond, work, end, store_args, node_args):
    """demo + the changes + restarts; returns (answers pass A, pass B, clock, idempotent, made)."""
    data = os.path.join(work, "data")
    logs = os.path.join(work, "logs")
    os.makedirs(logs, exist_ok=True)
    log(run_pond(pond, ["demo", "--data", data] + store_args +
                 ["--tenant", TENANT, "--members", str(DEMO_MEMBERS), "--seed", str(DEMO_SEED),
                  "--end", rfc3339(end)]).strip())
    server = PondServer(data, log_dir=logs, extra_args=store_args + node_args)
    server.start()
    try:
        wait_ready(server)
        c = Client(server)
        made = populate(c, end)
        idempotent = c.idempotent
        # The answers' clock (a whole second) must come after every write,
        # so that a server whose clock stands there finds nothing in its future.
        time.sleep(1.1)
        server.stop()
        # What the old binary loads: the answers are taken after a restart,
        # then again after another, to find what moves by itself.
        server.start()
        wait_ready(server)
        c = Client(server)
        reqs = plan(c, made)
        check_coverage(c, reqs)
        clock = datetime.datetime.now(SHANGHAI).replace(microsecond=0)
        pass_a = take(c, reqs)
        server.stop()
        server.start()
        wait_ready(server)
        pass_b = take(Client(server), reqs)
        server.stop()
    finally:
        server.kill()
    return pass_a, pass_b, clock, idempotent, made


def normalize_backend(entries):
    """Answers with what differs by nature between two runs replaced: coupon codes and the instants of writes.

    Codes are random, so each is replaced by its first place of appearance
    in the answers; an instant with a fraction of a second is the wall
    clock's (events' instants are whole seconds), so it becomes "<now>".
    """
    names = {}

    def walk(x):
        if isinstance(x, dict):
            return {k: walk(v) for k, v in x.items()}
        if isinstance(x, list):
            return [walk(v) for v in x]
        if isinstance(x, str):
            if CODE_RE.match(x):
                return names.setdefault(x, "<code %d>" % len(names))
            if INSTANT_RE.match(x) and "." in x:
                return "<now>"
            for code in re.findall(r"/coupons/([0-9A-HJKMNP-TV-Z]{16})", x):
                x = x.replace(code, names.setdefault(code, "<code %d>" % len(names)))
        return x
    return [walk(e) for e in entries]


def write_answers(path, answers):
    """A JSON list, one answer a line (compact, and a diff names the request)."""
    with open(path, "w", encoding="utf-8") as f:
        f.write("[\n" + ",\n".join(json.dumps(e, ensure_ascii=False, separators=(",", ":")) for e in answers) + "\n]\n")


# -- main ----------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pond", required=True, help="the OLD pond binary")
    ap.add_argument("--out", required=True, help="the fixture directory to make (must not exist)")
    ap.add_argument("--commit", help="the commit the binary was built from (default: REV beside it)")
    ap.add_argument("--end", default=DEFAULT_END, help="demo --end (default %(default)s)")
    ap.add_argument("--no-pg", action="store_true", help="skip the PostgreSQL half")
    ap.add_argument("--keep-work", action="store_true")
    args = ap.parse_args()

    pond = os.path.abspath(args.pond)
    commit = args.commit
    if not commit:
        with open(os.path.join(os.path.dirname(pond), "REV")) as f:
            commit = f.read().strip()
    out = os.path.abspath(args.out)
    if os.path.exists(out):
        sys.exit("%s exists: a fixture is made once, by its old binary; remove it first to re-make it" % out)
    end = datetime.datetime.fromisoformat(args.end)
    now = datetime.datetime.now(SHANGHAI)
    if not (end <= now < end + datetime.timedelta(hours=30)):
        log("warning: --end %s is not today's start; coupon rules may give nothing (orders over a day old)" % args.end)
    os.environ["POND_BIN"] = pond
    work = tempfile.mkdtemp(prefix="pond-fixture-")
    log("work dir", work)
    command = ["python3", os.path.relpath(os.path.abspath(__file__), REPO), "--pond", args.pond, "--out",
               os.path.relpath(out, REPO)] + (["--end", args.end] if args.end != DEFAULT_END else [])
    meta = {"commit": commit, "made_by": " ".join(command), "tenant": TENANT,
            "demo": {"members": DEMO_MEMBERS, "seed": DEMO_SEED, "end": rfc3339(end)}}
    try:
        # SQLite.
        pass_a, pass_b, clock, idempotent, made = build(pond, os.path.join(work, "sqlite"), end, [], [])
        seen = check_volatile(pass_a, pass_b)
        answers = [strip_volatile(e) for e in pass_a]
        os.makedirs(out)
        src = os.path.join(work, "sqlite", "data")
        leftovers = [n for n in os.listdir(os.path.join(src, "tenants")) if not n.endswith(".db")]
        if leftovers:
            raise RuntimeError("the stopped server left %s beside the databases" % leftovers)
        shutil.copytree(src, os.path.join(out, "data"))
        rows = sqlite_rows(os.path.join(src, "tenants", TENANT + ".db"))
        check_rows(rows)
        meta.update({"made_at": rfc3339(now), "clock": rfc3339(clock),
                     "volatile": [dict(v, seen=(i in seen)) for i, v in enumerate(VOLATILE)],
                     "made": made, "rows": rows, "idempotent": idempotent})
        write_answers(os.path.join(out, "answers.json"), answers)

        if not args.no_pg:
            meta["postgresql"] = make_pg(pond, work, end, out, answers, made, rows)
        with open(os.path.join(out, "meta.json"), "w", encoding="utf-8") as f:
            json.dump(meta, f, ensure_ascii=False, indent=1)
            f.write("\n")
        size = sum(os.path.getsize(os.path.join(d, n)) for d, _, ns in os.walk(os.path.join(out, "data")) for n in ns)
        log("done: %s (data %d bytes, %d answers)" % (out, size, len(answers)))
    finally:
        if args.keep_work:
            log("kept", work)
        else:
            shutil.rmtree(work, True)


def make_pg(pond, work, end, out, sqlite_answers, sqlite_made, sqlite_rows_):
    state = os.path.join(work, "pg-state")
    script = os.path.join(REPO, "tests", "pg", "pg_cluster.sh")
    subprocess.run(["bash", script, "start", state], check=True, timeout=180)
    try:
        with open(os.path.join(state, "url")) as f:
            cluster = f.read().strip()
        subprocess.run(["psql", cluster, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", "CREATE DATABASE fixture"],
                       check=True, timeout=60)
        url = urllib.parse.urlunsplit(urllib.parse.urlsplit(cluster)._replace(path="/fixture"))
        pass_a, pass_b, clock, idempotent, made = build(pond, os.path.join(work, "pg"), end, ["--store", url],
                                                        ["--node", PG_NODE])
        if made != sqlite_made:
            raise RuntimeError("the PostgreSQL run made other ids than the SQLite one: %s vs %s" % (made, sqlite_made))
        seen = check_volatile(pass_a, pass_b)
        answers = [strip_volatile(e) for e in pass_a]
        rows = pg_rows(url)
        check_rows(rows)
        if rows != sqlite_rows_:
            raise RuntimeError("the PostgreSQL store holds other rows than the SQLite one: %s vs %s" %
                               (rows, sqlite_rows_))
        dump = subprocess.run(["pg_dump", "--no-owner", "--no-privileges", url], capture_output=True, timeout=120,
                              check=True).stdout
        with open(os.path.join(out, "pg.sql"), "wb") as f:
            f.write(dump)
        write_answers(os.path.join(out, "answers-pg.json"), answers)
        # The two backends, compared once what differs by nature is named.
        diffs = answer_differences(normalize_backend(sqlite_answers), normalize_backend(answers))
        raw = answer_differences(sqlite_answers, answers)
        log("PostgreSQL vs SQLite: %d raw differences, %d after naming codes and write instants" %
            (len(raw), len(diffs)))
        for d in diffs[:40]:
            log("  differs:", *d)
        return {"clock": rfc3339(clock), "answers": "answers-pg.json", "dump": "pg.sql", "node": PG_NODE,
                "volatile_seen": seen, "idempotent": idempotent,
                "vs_sqlite": {"raw_differences": len(raw),
                              "differences_besides_codes_and_write_instants": [list(map(str, d)) for d in diffs]}}
    finally:
        subprocess.run(["bash", script, "stop", state], timeout=120)


if __name__ == "__main__":
    main()
