// Demo data for a Miniso-like chain. The distributions below are defaults
// meant to look plausible to an operator (DOMAIN.md §1–3, §7); the tests in
// demo_generator_test.cpp hold the generator to them.
//
// Master data (fixed ids, names and prices drawn from the seed):
// - 10 categories: beauty 美妆个护, food 食品 > snacks 零食, ip_goods IP联名 >
//   blind_box 盲盒, toys 玩具, home 家居生活, stationery 文具, digital 数码配件,
//   bags 箱包 (">" = child).
// - 40 stores "S001".."S040" in 12 cities (Shenzhen 5, Guangzhou 5, Shanghai 5,
//   Beijing 5, Hangzhou 3, Chengdu 3, Wuhan 3, Chongqing 3, Nanjing 2, Xi'an 2,
//   Suzhou 2, Changsha 2) at their malls' coordinates; tier-1 city stores draw
//   more members (weights 3 / 2 / 1 by store size).
// - 4 staff per store, "E0001".."E0160".
// - 300 products "SKU-00001".., per category: beauty 60, snacks 45, food 25,
//   ip_goods 35, blind_box 15, toys 30, home 40, stationery 25, digital 15,
//   bags 10; prices on Miniso-style price points 9.90–199.00 yuan, cheap
//   points commoner. Within a category the first products are bestsellers
//   (index = n·u², so the top quarter sells half the units) and mostly the
//   cheaper ones.
//
// Members (member i's data come only from Random(seed, i)):
// - phone: 11 digits, one of 16 prefixes 130–199, from a bijection of i
//   (unique for up to 1.6e9 members). unionid "o6_"+25 base64url chars ~61%
//   (90% for official_account/payment sources, 30% for malls, 55% others);
//   external_userid "wm"+30 chars ~35% (all staff_contact_code members, 45% of
//   other members with an owner staff, 5% without); pos_id "8"+9 digits ~40%
//   (60% store_qr/payment, 5% malls, 30% others). unionid/external_userid embed
//   a bijection of i, so no two members share an identity.
// - gender female 65%, male 30%, unknown 5%; Chinese name: common surname
//   (head-heavy) + 1 (30%) or 2 given-name characters by gender.
// - birthday for 85%: age 16–19 10%, 20–35 65%, 36–60 25%; day uniform over
//   the birth year, so leap years give Feb 29 birthdays.
// - home_store by store weight; city = its city; owner_staff (one of the home
//   store's 4 staff) for 50%: all staff_contact_code members, 39% of others.
// - source: store_qr 28%, staff_contact_code 18%, official_account 12%,
//   payment 12%, poster 6%, group 6%, referral 6%, mall_tmall 5%, live_stream
//   4%, mall_jd 3%.
// - registered_at in the 730 days before `end`, density rising linearly
//   (recent days twice the oldest: a growing private domain); store_qr and
//   payment sign-ups in opening hours 10:00–21:45, others 08:00–23:00.
//
// Behaviour (latent, drives orders):
// - persona: loves beauty 27% (beauty ~60% of items, pricier, more items per
//   order, more often loyal: the biggest spenders), snack lover 18%, IP-goods
//   fan 14%, weekend parent 9% (toys; 73% of orders on Sat/Sun), bulk buyer 7%
//   (3–6 lines of 2–4 units, snacks/food/home), general 25%.
// - segment: intro (never buys) 15% (12% of beauty lovers, 16% of others);
//   loyal ~15% (Pareto 18/(1-u)^0.4 orders a year, capped at 60); occasional
//   ~45% (1–8 a year, mean 3.1); churner ~15% (3–9 orders in the first
//   15–50% of their window, none in the last 100 days); won_back 12% (1–4
//   orders, a 185–260 day gap, then 1 (75%) or 2 orders in the last 7–75
//   days). Loyal/occasional counts scale with the part of the year after
//   registration; members too recent to churn (window < 14 days before the
//   last 100) or return (window < 280 days) count as occasional.
// - order times: in the year ending at `end`, after registered_at; weekends
//   weigh 1/0.6 of a weekday (~40% of orders on Sat/Sun); store orders
//   10:00–22:00 peaking 18–21h, online orders around the clock (77% within
//   10–22h). store_qr/payment members registered within the year place their
//   first order in store minutes after registering.
// - items: 1–6 lines (1: 45%, 2: 28%, 3: 14%, 4: 7%, 5: 4%, 6: 2%; beauty
//   lovers 35/30/18/9/5/3), category by persona, no repeated SKU; qty 1 85%,
//   2 11%, 3 4%. Line paid = qty·price, 8% of lines at 88折; on Wednesdays
//   half the orders ≥ 68 yuan take 满68减10 (member day, DOMAIN.md §2) off the
//   dearest line. Order paid = sum of lines exactly.
// - channel: store 60, miniprogram 25, tmall 4, wecom 3 (members with an
//   owner staff only), jd 3, douyin 2, official_account 1, pdd 1, app 1;
//   mall/live-stream sources add 40 (tmall/jd) or 10 (douyin). Store orders at
//   the home store 85%, another store of its city 10%, anywhere 5%, served by
//   one of its staff 45%; own online channels are credited to the home store
//   (and the owner staff 40% / wecom always); mall orders have no store.
// - payment: store wechat_pay 66%, alipay 22%, card 7%, cash 5%; own online
//   channels wechat_pay; tmall alipay; others mixed (~70% wechat_pay overall).
// - member reference: phone, except pos_id for 30% of store orders, unionid
//   for 40% of miniprogram/official_account orders, external_userid for 50%
//   of wecom orders (when the member has that identity).
// - order ids: channel prefix ("POS-S001-", "MP-", "TM-", "JD-", "DY-",
//   "PDD-", "APP-") + 10 digits of i·64 + order index: unique.
// - refunds ~3% of orders (store 2%, own online 3.5%, malls 6%): full 45% (and
//   always for one line), else one line's paid (70%) or 30–90% of it;
//   refunded 10 min–3 days later (70%) or up to 14 days, never after `end`;
//   refund id "RF-" + the order's number. A member's refunds follow its orders,
//   in time order.
//
// What comes out (20,000 members, seed 7): 15% intro, 4.9 orders per member
// (max 60), average order 97 yuan with 2.3 lines, 2.9% of orders refunded,
// beauty the top category of 28% of buyers who spend 1.9× the others, 60% of
// orders in store, 70% wechat_pay, 42% on weekends, 91% within 10–22h,
// 7% of members won back (last two orders > 180 days apart, the last within
// 90 days).
#include "demo/demo_generator.hpp"

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <string_view>
#include <utility>

namespace pond {
namespace {

constexpr int64_t kDay = 86400;
constexpr int kRegistrationDays = 730;
constexpr int kOrderDays = 365;
constexpr int kMaxOrders = 60;
constexpr int64_t kOrdersPerMemberSpace = 64;  // order number = i * 64 + k
constexpr int64_t kMaxMembers = 1'000'000'000;

// splitmix64's finalizer: a bijection on 64 bits.
constexpr uint64_t Mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// ---- Master data tables -------------------------------------------------

// Tables read better in rows.
// clang-format off
// Category groups where products live; the order matches kCategories.
enum Group : int {
  kBeauty = 0, kFood, kSnacks, kIpGoods, kBlindBox, kToys, kHome, kStationery, kDigital, kBags, kGroups
};

struct CategoryDef {
  std::string_view id, name, parent;
  int products;
  std::array<int32_t, 16> prices;  // price points in fen; 0 ends the list; repeats weigh
  std::array<std::string_view, 12> bases;  // product names; empty ends
};

constexpr std::array<CategoryDef, kGroups> kCategories = {{
    {"beauty", "美妆个护", "", 60,
     {990, 1490, 1990, 1990, 2990, 2990, 3990, 3990, 4990, 5990, 7990, 9990, 12900, 15900, 19900},
     {"玻尿酸补水面膜", "持久哑光口红", "氨基酸洁面乳", "保湿爽肤水", "轻薄防晒霜", "温和卸妆水", "十二色眼影盘",
      "水润粉底液", "纤长睫毛膏", "香氛护手霜", "淡香水", "美妆蛋套装"}},
    {"food", "食品", "", 25,
     {990, 1290, 1590, 1990, 2490, 2990, 3990, 4990},
     {"冻干速溶咖啡", "奶茶冲饮", "自热小火锅", "无糖气泡水", "即食燕麦片", "蜂蜜柚子茶", "挂耳咖啡", "酸辣粉"}},
    {"snacks", "零食", "food", 45,
     {990, 990, 1290, 1590, 1590, 1990, 1990, 2490, 2990, 3990},
     {"海苔脆片", "芒果干", "每日坚果", "风干牛肉干", "黑巧克力", "薯片", "果汁软糖", "曲奇饼干礼盒", "麻辣小鱼",
      "蒟蒻果冻"}},
    {"ip_goods", "IP联名", "", 35,
     {1990, 2990, 2990, 3990, 3990, 4990, 5990, 7990, 9990, 12900, 15900, 19900},
     {"库洛米毛绒公仔", "玉桂狗抱枕", "漫威钥匙扣", "迪士尼保温杯", "哈利波特笔记本", "咱们裸熊挂件",
      "蜡笔小新帆布包", "芝麻街卫衣", "草莓熊公仔", "史努比马克杯"}},
    {"blind_box", "盲盒", "ip_goods", 15,
     {3990, 4990, 4990, 5990, 6990},
     {"小熊盲盒", "星座系列盲盒", "萌宠盲盒", "甜品盲盒", "三丽鸥盲盒"}},
    {"toys", "玩具", "", 30,
     {1990, 2990, 3990, 3990, 4990, 5990, 7990, 9990, 12900},
     {"拼装积木", "遥控赛车", "儿童拼图", "毛绒小熊", "泡泡机", "水枪", "变形机器人", "过家家套装", "磁力片"}},
    {"home", "家居生活", "", 40,
     {990, 1490, 1990, 1990, 2990, 2990, 3990, 4990, 5990, 7990},
     {"香薰蜡烛", "桌面收纳盒", "不锈钢保温杯", "记忆棉颈枕", "居家拖鞋", "纯棉毛巾", "陶瓷餐具套装", "迷你加湿器",
      "护眼台灯", "玻璃水杯"}},
    {"stationery", "文具", "", 25,
     {990, 990, 1290, 1590, 1990, 2490, 2990},
     {"速干中性笔", "线圈笔记本", "便利贴", "手账本", "文件收纳夹", "彩色铅笔", "大容量笔袋"}},
    {"digital", "数码配件", "", 15,
     {2990, 3990, 4990, 5990, 7990, 9990, 12900, 15900, 19900},
     {"蓝牙耳机", "快充数据线", "充电宝", "手机壳", "无线鼠标", "蓝牙音箱", "自拍杆"}},
    {"bags", "箱包", "", 10,
     {3990, 4990, 5990, 7990, 9990, 12900, 15900, 19900},
     {"双肩包", "帆布包", "斜挎包", "短款钱包", "登机箱"}},
}};

constexpr std::array<std::string_view, 10> kVariants = {"经典款", "樱花粉", "薄荷绿", "奶油白", "星空蓝",
                                                        "限定款", "升级版", "迷你款", "大号", "联名款"};

constexpr std::array<std::string_view, 12> kCities = {"深圳", "广州", "上海", "北京", "杭州", "成都",
                                                      "武汉", "南京", "重庆", "西安", "苏州", "长沙"};

struct StoreDef {
  std::string_view name;
  int city;
  double lat, lng;
  uint32_t weight;
};

constexpr std::array<StoreDef, 40> kStores = {{
    {"深圳万象城店", 0, 22.5387, 114.1108, 3},
    {"深圳海岸城店", 0, 22.5170, 113.9360, 3},
    {"深圳COCO Park店", 0, 22.5333, 114.0553, 2},
    {"深圳壹方城店", 0, 22.5558, 113.8824, 2},
    {"深圳东门店", 0, 22.5468, 114.1205, 2},
    {"广州天河城店", 1, 23.1322, 113.3230, 3},
    {"广州正佳广场店", 1, 23.1324, 113.3270, 3},
    {"广州北京路店", 1, 23.1260, 113.2695, 2},
    {"广州上下九店", 1, 23.1160, 113.2475, 2},
    {"广州番禺万达店", 1, 22.9380, 113.3840, 1},
    {"上海南京东路店", 2, 31.2366, 121.4800, 3},
    {"上海静安大悦城店", 2, 31.2440, 121.4580, 3},
    {"上海徐家汇店", 2, 31.1950, 121.4370, 3},
    {"上海五角场店", 2, 31.3000, 121.5130, 2},
    {"上海七宝万科店", 2, 31.1590, 121.3530, 2},
    {"北京三里屯店", 3, 39.9335, 116.4540, 3},
    {"北京西单大悦城店", 3, 39.9106, 116.3720, 3},
    {"北京王府井店", 3, 39.9140, 116.4110, 3},
    {"北京中关村店", 3, 39.9830, 116.3160, 2},
    {"北京望京店", 3, 39.9960, 116.4700, 2},
    {"杭州湖滨银泰店", 4, 30.2580, 120.1640, 2},
    {"杭州西溪印象城店", 4, 30.2760, 120.0730, 2},
    {"杭州滨江天街店", 4, 30.2090, 120.2100, 1},
    {"成都春熙路店", 5, 30.6570, 104.0810, 3},
    {"成都太古里店", 5, 30.6530, 104.0840, 2},
    {"成都环球中心店", 5, 30.5700, 104.0620, 1},
    {"武汉江汉路店", 6, 30.5800, 114.2870, 2},
    {"武汉光谷店", 6, 30.5080, 114.3990, 2},
    {"武汉楚河汉街店", 6, 30.5560, 114.3430, 1},
    {"南京新街口店", 7, 32.0420, 118.7840, 2},
    {"南京河西万达店", 7, 32.0370, 118.7360, 1},
    {"重庆解放碑店", 8, 29.5570, 106.5770, 2},
    {"重庆观音桥店", 8, 29.5750, 106.5340, 2},
    {"重庆沙坪坝店", 8, 29.5590, 106.4560, 1},
    {"西安钟楼店", 9, 34.2610, 108.9470, 2},
    {"西安小寨店", 9, 34.2240, 108.9470, 1},
    {"苏州观前街店", 10, 31.3110, 120.6250, 2},
    {"苏州园区圆融店", 10, 31.3180, 120.7110, 1},
    {"长沙五一广场店", 11, 28.1960, 112.9770, 2},
    {"长沙梅溪湖店", 11, 28.1930, 112.8900, 1},
}};
constexpr int kStaffPerStore = 4;
// clang-format on

// Common surnames, most frequent first (drawn head-heavy).
constexpr std::array<std::string_view, 48> kSurnames = {
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "林", "高", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "肖", "田", "董", "潘", "袁", "蔡", "蒋", "余", "于", "杜", "叶", "程", "魏", "苏", "吕", "沈"};
constexpr std::array<std::string_view, 32> kFemaleGiven = {
    "婷", "静", "丽", "敏", "燕", "娜", "芳", "雪", "琳", "欣", "怡", "佳", "雨", "萱", "梦", "晨",
    "悦", "瑶", "璐", "思", "涵", "琪", "颖", "倩", "月", "彤", "诗", "语", "可", "馨", "慧", "洁"};
constexpr std::array<std::string_view, 32> kMaleGiven = {
    "伟", "强", "磊", "军", "洋", "勇", "杰", "涛", "明", "超", "浩", "宇", "鹏", "俊", "博", "轩",
    "晨", "睿", "哲", "凯", "翔", "鑫", "宁", "辉", "斌", "航", "阳", "泽", "文", "毅", "健", "峰"};

// ---- Member distributions -----------------------------------------------

enum class Persona : uint8_t { kBeauty, kSnacks, kIpFan, kWeekendParent, kBulk, kGeneral };
constexpr std::array<uint32_t, 6> kPersonaWeights = {27, 18, 14, 9, 7, 25};

// Category weights per persona, in Group order
// (beauty, food, snacks, ip_goods, blind_box, toys, home, stationery, digital, bags).
constexpr std::array<std::array<uint32_t, kGroups>, 6> kPersonaCategoryWeights = {{
    {60, 3, 6, 5, 2, 1, 11, 5, 4, 3},    // beauty
    {4, 22, 52, 4, 2, 2, 6, 4, 2, 2},    // snacks
    {4, 3, 6, 43, 25, 4, 6, 6, 2, 1},    // IP fan
    {4, 5, 10, 8, 5, 47, 8, 10, 2, 1},   // weekend parent
    {5, 21, 36, 3, 2, 3, 21, 6, 2, 1},   // bulk
    {8, 9, 15, 11, 5, 6, 20, 13, 8, 5},  // general
}};

enum class Segment : uint8_t { kIntro, kLoyal, kOccasional, kChurner, kWonBack };
constexpr std::array<uint32_t, 5> kSegmentWeightsBeauty = {12, 25, 38, 13, 12};
constexpr std::array<uint32_t, 5> kSegmentWeightsOther = {16, 11, 45, 16, 12};

constexpr std::array<uint32_t, 8> kOccasionalOrders = {22, 24, 20, 13, 9, 6, 3, 3};  // 1..8 a year
constexpr std::array<uint32_t, 6> kItemLines = {45, 28, 14, 7, 4, 2};                // 1..6 lines
constexpr std::array<uint32_t, 6> kItemLinesBeauty = {35, 30, 18, 9, 5, 3};

enum Source : int {
  kStoreQr = 0,
  kStaffContactCode,
  kOfficialAccount,
  kPayment,
  kPoster,
  kGroup,
  kReferral,
  kMallTmall,
  kLiveStream,
  kMallJd,
  kSources
};
constexpr std::array<std::string_view, kSources> kSourceNames = {
    "store_qr", "staff_contact_code", "official_account", "payment",     "poster",
    "group",    "referral",           "mall_tmall",       "live_stream", "mall_jd"};
constexpr std::array<uint32_t, kSources> kSourceWeights = {28, 18, 12, 12, 6, 6, 6, 5, 4, 3};

// Base channel weights, in Channel enum order
// (store, miniprogram, official_account, wecom, tmall, jd, pdd, douyin, app, other).
constexpr std::array<uint32_t, kChannels> kChannelWeights = {60, 25, 1, 3, 4, 3, 1, 2, 1, 0};

// Hours of day: store orders 10–21h, online around the clock.
constexpr std::array<uint32_t, 24> kStoreHours = {0, 0, 0, 0, 0, 0, 0,  0,  0,  0, 5, 7,
                                                  9, 9, 8, 8, 8, 9, 10, 12, 12, 8, 0, 0};
constexpr std::array<uint32_t, 24> kOnlineHours = {2, 1, 0, 0, 0, 0, 1, 2, 3,  4,  5, 6,
                                                   8, 7, 6, 6, 6, 6, 7, 9, 11, 11, 8, 5};

constexpr std::array<std::string_view, 16> kPhonePrefixes = {"130", "131", "132", "135", "136", "137", "138", "139",
                                                             "150", "151", "152", "158", "159", "186", "188", "199"};
constexpr uint64_t kPhoneSpace = 16 * 100'000'000ULL;  // 2^12 · 5^8
constexpr uint64_t kPhoneMultiplier = 982'451'653;     // coprime to kPhoneSpace
constexpr uint64_t kPosSpace = 1'000'000'000ULL;
constexpr uint64_t kPosMultiplier = 972'663'749;  // coprime to kPosSpace

constexpr char kBase64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

template <size_t N>
size_t Pick(Random& rng, const std::array<uint32_t, N>& weights) {
  uint32_t total = 0;
  for (uint32_t w : weights) total += w;
  uint64_t r = rng.Uniform(total);
  for (size_t i = 0; i < N; ++i) {
    if (r < weights[i]) return i;
    r -= weights[i];
  }
  return N - 1;
}

// ISO weekday (1 = Monday .. 7 = Sunday) of a day count; 1970-01-01 was a Thursday.
int IsoWeekday(int32_t days) { return static_cast<int>(((days % 7) + 7 + 3) % 7) + 1; }

// Index in [0, n) favouring the head: the top quarter gets half the draws.
size_t HeadHeavy(Random& rng, size_t n) {
  const double u = rng.Real();
  return std::min(n - 1, static_cast<size_t>(static_cast<double>(n) * u * u));
}

void AppendDigits(std::string* s, uint64_t v, int width) {
  char buf[24];
  int n = 0;
  do {
    buf[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (n < width) buf[n++] = '0';
  while (n > 0) s->push_back(buf[--n]);
}

std::string Padded(std::string_view prefix, uint64_t v, int width) {
  std::string s;
  s.reserve(prefix.size() + 20);
  s.append(prefix);
  AppendDigits(&s, v, width);
  return s;
}

// `random_chars` random base64url characters, then 11 encoding `unique`.
void AppendToken(std::string* s, Random& rng, int random_chars, uint64_t unique) {
  while (random_chars > 0) {
    uint64_t bits = rng.Next();
    for (int k = 0; k < 10 && random_chars > 0; ++k, --random_chars, bits >>= 6) s->push_back(kBase64Url[bits & 63]);
  }
  for (int k = 0; k < 11; ++k, unique >>= 6) s->push_back(kBase64Url[unique & 63]);
}

std::string ChineseName(Random& rng, Gender gender) {
  std::string name;
  name.reserve(12);
  name.append(kSurnames[HeadHeavy(rng, kSurnames.size())]);
  const int given = rng.Chance(0.3) ? 1 : 2;
  for (int k = 0; k < given; ++k) {
    const bool female = gender == Gender::kFemale || (gender == Gender::kUnknown && rng.Chance(0.5));
    name.append(female ? kFemaleGiven[rng.Uniform(kFemaleGiven.size())] : kMaleGiven[rng.Uniform(kMaleGiven.size())]);
  }
  return name;
}

std::string_view OrderIdPrefix(Channel c) {
  switch (c) {
    case Channel::kTmall:
      return "TM-";
    case Channel::kJd:
      return "JD-";
    case Channel::kDouyin:
      return "DY-";
    case Channel::kPdd:
      return "PDD-";
    case Channel::kApp:
      return "APP-";
    case Channel::kStore:
      return "POS-";
    default:
      return "MP-";
  }
}

bool IsMall(Channel c) {
  return c == Channel::kTmall || c == Channel::kJd || c == Channel::kPdd || c == Channel::kDouyin;
}

std::string_view DrawPayment(Random& rng, Channel c) {
  switch (c) {
    case Channel::kStore: {
      const uint64_t r = rng.Uniform(100);
      return r < 66 ? "wechat_pay" : r < 88 ? "alipay" : r < 95 ? "card" : "cash";
    }
    case Channel::kTmall:
      return "alipay";
    case Channel::kJd:
      return rng.Chance(0.4) ? "wechat_pay" : "card";
    case Channel::kDouyin:
      return rng.Chance(0.5) ? "wechat_pay" : "alipay";
    case Channel::kPdd:
      return rng.Chance(0.7) ? "wechat_pay" : "alipay";
    case Channel::kApp:
      return rng.Chance(0.6) ? "wechat_pay" : "alipay";
    default:
      return "wechat_pay";
  }
}

// One order in the making, before its events are built.
struct PlannedOrder {
  int64_t paid_at = 0;  // seconds
  Channel channel = Channel::kStore;
  bool at_registration = false;
};

}  // namespace

DemoGenerator::DemoGenerator(DemoOptions options) : options_(std::move(options)) {
  assert(options_.members >= 0 && options_.members <= kMaxMembers);
  end_s_ = options_.end.seconds();
  const int32_t end_day = options_.zone.DateOf(options_.end).days();
  end_year_ = LocalDate::FromDays(end_day).year();
  // Registration reaches 730 days back; keep two spare days on each side.
  first_day_ = end_day - kRegistrationDays - 2;
  const int days = kRegistrationDays + 5;
  day_start_.reserve(static_cast<size_t>(days));
  for (int k = 0; k < days; ++k) {
    day_start_.push_back(options_.zone.StartOfDay(LocalDate::FromDays(first_day_ + k)).seconds());
  }
  BuildMasterData();
  pending_.reserve(2 * kMaxOrders + 8);
}

void DemoGenerator::BuildMasterData() {
  Random rng(Mix64(options_.seed ^ 0x6d61737465726461ULL));  // "masterda"
  master_.reserve(kCategories.size() + kStores.size() * (1 + kStaffPerStore) + 300);

  for (const CategoryDef& c : kCategories) {
    master_.emplace_back(CategoryInfo{std::string(c.id), std::string(c.name), std::string(c.parent)});
  }

  city_stores_.assign(kCities.size(), {});
  uint32_t cum = 0;
  for (size_t s = 0; s < kStores.size(); ++s) {
    const StoreDef& def = kStores[s];
    StoreRef ref;
    ref.id = Padded("S", s + 1, 3);
    ref.city = std::string(kCities[static_cast<size_t>(def.city)]);
    ref.city_index = def.city;
    master_.emplace_back(StoreInfo{ref.id, std::string(def.name), ref.city, def.lat, def.lng});
    city_stores_[static_cast<size_t>(def.city)].push_back(static_cast<int>(s));
    cum += def.weight;
    store_weight_cum_.push_back(cum);
    stores_.push_back(std::move(ref));
  }

  for (StoreRef& store : stores_) {
    store.staff_begin = static_cast<int>(staff_ids_.size());
    store.staff_count = kStaffPerStore;
    for (int k = 0; k < kStaffPerStore; ++k) {
      std::string id = Padded("E", staff_ids_.size() + 1, 4);
      const Gender g = rng.Chance(0.75) ? Gender::kFemale : Gender::kMale;
      master_.emplace_back(StaffInfo{id, ChineseName(rng, g), store.id});
      staff_ids_.push_back(std::move(id));
    }
  }

  products_by_group_.assign(kGroups, {});
  int sku = 0;
  for (size_t g = 0; g < kCategories.size(); ++g) {
    const CategoryDef& c = kCategories[g];
    size_t bases = 0, prices = 0;
    while (bases < c.bases.size() && !c.bases[bases].empty()) ++bases;
    while (prices < c.prices.size() && c.prices[prices] != 0) ++prices;
    // Price points ascend, so cheap ones are common; the bestsellers (the
    // first products) are mostly the cheaper ones.
    std::vector<int64_t> category_prices;
    for (int j = 0; j < c.products; ++j) category_prices.push_back(c.prices[HeadHeavy(rng, prices)]);
    std::sort(category_prices.begin(), category_prices.end());
    for (int j = 0; j + 1 < c.products; ++j) {
      if (rng.Chance(0.3)) {
        std::swap(category_prices[static_cast<size_t>(j)], category_prices[rng.Uniform(category_prices.size())]);
      }
    }
    for (int j = 0; j < c.products; ++j) {
      ProductRef p;
      p.sku = Padded("SKU-", static_cast<uint64_t>(++sku), 5);
      p.category = std::string(c.id);
      p.price_fen = category_prices[static_cast<size_t>(j)];
      std::string name(c.bases[static_cast<size_t>(j) % bases]);
      name.append("（");
      name.append(kVariants[(static_cast<size_t>(j) / bases) % kVariants.size()]);
      name.append("）");
      master_.emplace_back(ProductInfo{p.sku, std::move(name), p.category, Money::Fen(p.price_fen)});
      products_by_group_[g].push_back(std::move(p));
    }
  }
}

int DemoGenerator::DayIndexOf(int64_t t) const {
  // Days are 86400 s long but around a DST change: guess, then step.
  const int last = static_cast<int>(day_start_.size()) - 2;
  int k = static_cast<int>(std::clamp<int64_t>((t - day_start_[0]) / kDay, 0, last));
  while (k < last && day_start_[static_cast<size_t>(k) + 1] <= t) ++k;
  while (k > 0 && day_start_[static_cast<size_t>(k)] > t) --k;
  return k;
}

int64_t DemoGenerator::DrawOrderTime(Random& rng, int64_t lo, int64_t hi, double weekday_accept,
                                     Channel* channel) const {
  const int dlo = DayIndexOf(lo), dhi = DayIndexOf(hi);
  for (int tries = 0; tries < 16; ++tries) {
    const int d = static_cast<int>(rng.Range(dlo, dhi));
    const int weekday = IsoWeekday(first_day_ + d);
    if (weekday <= 5 && tries < 12 && !rng.Chance(weekday_accept)) continue;
    const int hour = static_cast<int>(Pick(rng, *channel == Channel::kStore ? kStoreHours : kOnlineHours));
    const int64_t t = day_start_[static_cast<size_t>(d)] + hour * 3600 + static_cast<int64_t>(rng.Uniform(3600));
    if (t >= lo && t <= hi) return t;
  }
  // A window of a few hours, none of them opening hours: the order comes online.
  if (*channel == Channel::kStore) *channel = Channel::kMiniprogram;
  return lo + static_cast<int64_t>(rng.Uniform(static_cast<uint64_t>(hi - lo) + 1));
}

bool DemoGenerator::Next(std::vector<Event>* out, size_t max) {
  size_t appended = 0;
  while (appended < max && master_pos_ < master_.size()) {
    out->push_back(std::move(master_[master_pos_++]));
    ++appended;
  }
  auto count = [this](const Event& e) {
    switch (e.index()) {
      case 0:
        ++members_emitted_;
        break;
      case 1:
        ++orders_emitted_;
        break;
      case 2:
        ++refunds_emitted_;
        break;
      default:
        break;
    }
  };
  while (appended < max) {
    if (pending_pos_ < pending_.size()) {
      count(pending_[pending_pos_]);
      out->push_back(std::move(pending_[pending_pos_++]));
      ++appended;
      continue;
    }
    if (next_member_ >= options_.members) break;
    // Generate straight into `out`; what does not fit waits in pending_.
    const size_t before = out->size();
    GenerateMember(next_member_++, out);
    const size_t fit = std::min(out->size() - before, max - appended);
    if (before + fit < out->size()) {
      pending_.clear();
      pending_pos_ = 0;
      for (size_t j = before + fit; j < out->size(); ++j) pending_.push_back(std::move((*out)[j]));
      out->erase(out->begin() + static_cast<std::ptrdiff_t>(before + fit), out->end());
    }
    for (size_t j = before; j < out->size(); ++j) count((*out)[j]);
    appended += fit;
  }
  if (appended > 0) return true;
  return master_pos_ < master_.size() || pending_pos_ < pending_.size() || next_member_ < options_.members;
}

void DemoGenerator::GenerateMember(int64_t i, std::vector<Event>* out) {
  const uint64_t ui = static_cast<uint64_t>(i);
  const uint64_t seed = options_.seed;
  Random rng(Mix64(seed * 0x9e3779b97f4a7c15ULL + 0x632be59bd9b4e019ULL) ^ Mix64(ui + 0x2545f4914f6cdd1dULL));

  // --- Profile ---
  const auto source = static_cast<Source>(Pick(rng, kSourceWeights));
  const bool mall_source = source == kMallTmall || source == kMallJd;
  const size_t home = static_cast<size_t>(
      std::upper_bound(store_weight_cum_.begin(), store_weight_cum_.end(), rng.Uniform(store_weight_cum_.back())) -
      store_weight_cum_.begin());
  const StoreRef& home_store = stores_[home];
  const bool has_owner = source == kStaffContactCode || rng.Chance(0.39);
  const std::string* owner_staff =
      has_owner ? &staff_ids_[static_cast<size_t>(home_store.staff_begin) + rng.Uniform(kStaffPerStore)] : nullptr;
  const bool has_ext = source == kStaffContactCode || rng.Chance(has_owner ? 0.45 : 0.05);
  const double unionid_p = (source == kOfficialAccount || source == kPayment) ? 0.9 : mall_source ? 0.3 : 0.55;
  const bool has_unionid = rng.Chance(unionid_p);
  const double pos_p = (source == kStoreQr || source == kPayment) ? 0.6 : mall_source ? 0.05 : 0.3;
  const bool has_pos = rng.Chance(pos_p);

  const uint64_t v = (ui * kPhoneMultiplier + Mix64(seed ^ 0x70686f6e65ULL) % kPhoneSpace) % kPhoneSpace;
  std::string phone;
  phone.reserve(11);
  phone.append(kPhonePrefixes[v / 100'000'000]);
  AppendDigits(&phone, v % 100'000'000, 8);

  MemberEvent member;
  member.member.identities.reserve(4);
  member.member.identities.push_back({IdentityKind::kPhone, phone});
  std::string unionid, ext, pos;
  if (has_unionid) {
    unionid.reserve(28);
    unionid.append("o6_");
    AppendToken(&unionid, rng, 14, Mix64(ui ^ Mix64(seed ^ 0x756e696f6eULL)));
    member.member.identities.push_back({IdentityKind::kUnionid, unionid});
  }
  if (has_ext) {
    ext.reserve(32);
    ext.append("wm");
    AppendToken(&ext, rng, 19, Mix64(ui ^ Mix64(seed ^ 0x776563686174ULL)));
    member.member.identities.push_back({IdentityKind::kExternalUserid, ext});
  }
  if (has_pos) {
    pos = Padded("8", (ui * kPosMultiplier + Mix64(seed ^ 0x706f73ULL) % kPosSpace) % kPosSpace, 9);
    member.member.identities.push_back({IdentityKind::kPosId, pos});
  }

  const uint64_t g = rng.Uniform(100);
  const Gender gender = g < 65 ? Gender::kFemale : g < 95 ? Gender::kMale : Gender::kUnknown;
  MemberProfile& profile = member.profile;
  profile.name = ChineseName(rng, gender);
  profile.gender = gender;
  if (rng.Chance(0.85)) {
    const uint64_t a = rng.Uniform(100);
    const int age = static_cast<int>(a < 10 ? rng.Range(16, 19) : a < 75 ? rng.Range(20, 35) : rng.Range(36, 60));
    const int year = end_year_ - age;
    const LocalDate jan1 = LocalDate::FromYmd(year, 1, 1);
    const int year_days = LocalDate::FromYmd(year + 1, 1, 1).days() - jan1.days();
    profile.birthday =
        LocalDate::FromDays(jan1.days() + static_cast<int32_t>(rng.Uniform(static_cast<uint64_t>(year_days))));
  }
  profile.city = home_store.city;
  profile.home_store = home_store.id;
  profile.source = std::string(kSourceNames[source]);
  if (owner_staff != nullptr) profile.owner_staff = *owner_staff;

  // Registration: density rising linearly over the 730 days (inverse CDF of 1 + x).
  const double x = std::sqrt(1.0 + 3.0 * rng.Real()) - 1.0;
  const int end_index = kRegistrationDays + 2;
  const int reg_day =
      end_index - kRegistrationDays + std::min(kRegistrationDays, static_cast<int>(x * (kRegistrationDays + 1)));
  // At the till within opening hours (10:00–21:45) for store sources, 08:00–23:00 otherwise.
  const bool at_till = source == kStoreQr || source == kPayment;
  int64_t registered = day_start_[static_cast<size_t>(reg_day)] +
                       (at_till ? 10 * 3600 + static_cast<int64_t>(rng.Uniform(11 * 3600 + 45 * 60))
                                : 8 * 3600 + static_cast<int64_t>(rng.Uniform(15 * 3600)));
  if (registered >= end_s_) registered -= kDay;
  profile.registered_at = Timestamp::FromSeconds(registered);
  out->emplace_back(std::move(member));

  // --- Behaviour ---
  const auto persona = static_cast<Persona>(Pick(rng, kPersonaWeights));
  auto segment =
      static_cast<Segment>(Pick(rng, persona == Persona::kBeauty ? kSegmentWeightsBeauty : kSegmentWeightsOther));
  const int64_t lo = std::max(registered, end_s_ - kOrderDays * kDay) + 60;
  const int64_t hi = end_s_;
  if (lo > hi) segment = Segment::kIntro;
  if (segment == Segment::kIntro) return;

  const double year_part = static_cast<double>(hi - lo) / static_cast<double>(kOrderDays * kDay);
  const double weekday_accept = persona == Persona::kWeekendParent ? 0.15 : 0.6;
  // A return needs room for some orders, a 185+ day gap and a recent comeback.
  if (segment == Segment::kWonBack && hi - lo < 280 * kDay) segment = Segment::kOccasional;
  int64_t churn_end = 0;
  if (segment == Segment::kChurner) {
    churn_end = std::min(lo + static_cast<int64_t>((hi - lo) * (0.15 + 0.35 * rng.Real())), end_s_ - 100 * kDay);
    if (churn_end - lo < 14 * kDay) segment = Segment::kOccasional;
  }
  auto scaled = [&](double full) {  // a count for the part of the year after registration, at least 1
    const double want = full * year_part;
    int n = static_cast<int>(want);
    if (rng.Real() < want - n) ++n;
    return std::clamp(n, 1, kMaxOrders);
  };

  // Per-member channel mix.
  std::array<uint32_t, kChannels> channel_weights = kChannelWeights;
  if (!has_owner) channel_weights[static_cast<size_t>(Channel::kWecom)] = 0;
  if (source == kMallTmall) channel_weights[static_cast<size_t>(Channel::kTmall)] += 40;
  if (source == kMallJd) channel_weights[static_cast<size_t>(Channel::kJd)] += 40;
  if (source == kLiveStream) channel_weights[static_cast<size_t>(Channel::kDouyin)] += 10;

  std::array<PlannedOrder, kMaxOrders> plan;
  int n = 0;
  auto plan_orders = [&](int count, int64_t from, int64_t to) {
    for (int k = 0; k < count && n < kMaxOrders; ++k, ++n) {
      PlannedOrder& p = plan[static_cast<size_t>(n)];
      p.channel = static_cast<Channel>(Pick(rng, channel_weights));
      p.paid_at = DrawOrderTime(rng, from, to, weekday_accept, &p.channel);
    }
  };
  switch (segment) {
    case Segment::kLoyal:
      plan_orders(scaled(std::min<double>(kMaxOrders, 18.0 / std::pow(1.0 - rng.Real(), 0.4))), lo, hi);
      break;
    case Segment::kOccasional:
      plan_orders(scaled(static_cast<double>(1 + Pick(rng, kOccasionalOrders))), lo, hi);
      break;
    case Segment::kChurner:
      plan_orders(static_cast<int>(rng.Range(3, 9)), lo, churn_end);
      break;
    case Segment::kWonBack: {
      const int64_t back_days = rng.Range(7, 75);
      const int64_t gap_days = rng.Range(185, std::min<int64_t>(260, (hi - lo) / kDay - back_days - 5));
      plan_orders(static_cast<int>(rng.Range(1, 4)), lo, hi - (back_days + gap_days) * kDay);
      plan_orders(rng.Chance(0.75) ? 1 : 2, hi - back_days * kDay, hi);
      break;
    }
    case Segment::kIntro:
      break;
  }
  // Members who sign up at the till buy right then (DOMAIN.md §1: store QR, payment).
  if (at_till && registered + 60 >= lo && (segment == Segment::kLoyal || segment == Segment::kOccasional)) {
    const int64_t t = registered + rng.Range(60, 900);
    plan[0] = PlannedOrder{std::min(hi, t), t <= hi ? Channel::kStore : Channel::kMiniprogram, true};
  }
  std::sort(plan.begin(), plan.begin() + n,
            [](const PlannedOrder& a, const PlannedOrder& b) { return a.paid_at < b.paid_at; });
  const auto& category_weights = kPersonaCategoryWeights[static_cast<size_t>(persona)];
  const auto& line_weights = persona == Persona::kBeauty ? kItemLinesBeauty : kItemLines;
  const std::vector<int>& city_stores = city_stores_[static_cast<size_t>(home_store.city_index)];

  struct PlannedRefund {
    int64_t at;
    size_t order;     // index into *out
    uint64_t number;  // the order's number
    int64_t amount;
  };
  std::array<PlannedRefund, kMaxOrders> refunds;
  int refund_count = 0;

  for (int k = 0; k < n; ++k) {
    OrderEvent order;
    const Channel channel = plan[static_cast<size_t>(k)].channel;
    order.channel = channel;
    const uint64_t number = ui * kOrdersPerMemberSpace + static_cast<uint64_t>(k);

    // Store and staff.
    size_t store = home;
    if (channel == Channel::kStore && !plan[static_cast<size_t>(k)].at_registration) {
      const uint64_t r = rng.Uniform(100);
      if (r >= 95) {
        store = rng.Uniform(stores_.size());
      } else if (r >= 85 && city_stores.size() > 1) {
        store = static_cast<size_t>(city_stores[rng.Uniform(city_stores.size())]);
      }
    }
    order.order_id.reserve(24);
    order.order_id.append(OrderIdPrefix(channel));
    if (channel == Channel::kStore) {
      order.order_id.append(stores_[store].id);
      order.order_id.push_back('-');
    }
    AppendDigits(&order.order_id, number, 10);
    if (!IsMall(channel)) order.store = stores_[store].id;
    if (channel == Channel::kStore) {
      if (rng.Chance(0.45)) {
        order.staff = staff_ids_[static_cast<size_t>(stores_[store].staff_begin) + rng.Uniform(kStaffPerStore)];
      }
    } else if (owner_staff != nullptr && (channel == Channel::kWecom || (!IsMall(channel) && rng.Chance(0.4)))) {
      order.staff = *owner_staff;
    }
    order.payment = std::string(DrawPayment(rng, channel));
    order.paid_at = Timestamp::FromSeconds(plan[static_cast<size_t>(k)].paid_at);

    // Who the order names: usually the phone, sometimes the channel's own id.
    const std::string* ref = &phone;
    IdentityKind ref_kind = IdentityKind::kPhone;
    if (channel == Channel::kStore && has_pos && rng.Chance(0.3)) {
      ref = &pos, ref_kind = IdentityKind::kPosId;
    } else if ((channel == Channel::kMiniprogram || channel == Channel::kOfficialAccount) && has_unionid &&
               rng.Chance(0.4)) {
      ref = &unionid, ref_kind = IdentityKind::kUnionid;
    } else if (channel == Channel::kWecom && has_ext && rng.Chance(0.5)) {
      ref = &ext, ref_kind = IdentityKind::kExternalUserid;
    }
    order.member.identities.push_back({ref_kind, *ref});

    // Items.
    const bool bulk = persona == Persona::kBulk;
    const int lines = bulk ? static_cast<int>(rng.Range(3, 6)) : 1 + static_cast<int>(Pick(rng, line_weights));
    order.items.reserve(static_cast<size_t>(lines));
    int64_t subtotal = 0;
    size_t dearest = 0;
    std::array<const ProductRef*, 6> chosen{};
    for (int l = 0; l < lines; ++l) {
      const ProductRef* p = nullptr;
      for (int tries = 0; tries < 4 && p == nullptr; ++tries) {
        const auto& group = products_by_group_[Pick(rng, category_weights)];
        p = &group[HeadHeavy(rng, group.size())];
        if (std::find(chosen.begin(), chosen.begin() + order.items.size(), p) != chosen.begin() + order.items.size()) {
          p = nullptr;
        }
      }
      if (p == nullptr) continue;  // rare: keep the order to the lines it has
      chosen[order.items.size()] = p;
      int32_t qty = 1;
      if (bulk) {
        qty = static_cast<int32_t>(rng.Range(2, 4));
      } else {
        const uint64_t q = rng.Uniform(100);
        qty = q < 85 ? 1 : q < 96 ? 2 : 3;
      }
      int64_t paid = qty * p->price_fen;
      if (rng.Chance(0.08)) paid = paid * 88 / 100;  // 88折 coupon on the line
      if (order.items.empty() || paid > order.items[dearest].paid.fen()) dearest = order.items.size();
      order.items.push_back(OrderItem{p->sku, p->category, qty, Money::Fen(paid)});
      subtotal += paid;
    }
    // Member day (DOMAIN.md §2): Wednesdays, 满68减10, taken off the dearest line.
    if (subtotal >= 6800 && IsoWeekday(first_day_ + DayIndexOf(plan[static_cast<size_t>(k)].paid_at)) == 3 &&
        rng.Chance(0.5)) {
      order.items[dearest].paid -= Money::Fen(1000);
      subtotal -= 1000;
    }
    order.paid = Money::Fen(subtotal);

    // Refund.
    const double refund_p = channel == Channel::kStore ? 0.02 : IsMall(channel) ? 0.06 : 0.035;
    if (rng.Chance(refund_p)) {
      int64_t amount = subtotal;
      if (order.items.size() > 1 && !rng.Chance(0.45)) {
        const int64_t line = order.items[rng.Uniform(order.items.size())].paid.fen();
        amount = rng.Chance(0.7) ? line : std::max<int64_t>(1, line * rng.Range(30, 90) / 100);
      }
      const int64_t delay = rng.Chance(0.7) ? rng.Range(600, 3 * kDay) : rng.Range(600, 14 * kDay);
      refunds[static_cast<size_t>(refund_count++)] =
          PlannedRefund{std::min(end_s_, plan[static_cast<size_t>(k)].paid_at + delay), out->size(), number, amount};
    }
    out->emplace_back(std::move(order));
  }

  std::sort(refunds.begin(), refunds.begin() + refund_count,
            [](const PlannedRefund& a, const PlannedRefund& b) { return a.at < b.at; });
  for (int r = 0; r < refund_count; ++r) {
    const PlannedRefund& pr = refunds[static_cast<size_t>(r)];
    RefundEvent refund;
    refund.order_id = std::get<OrderEvent>((*out)[pr.order]).order_id;
    refund.refund_id = Padded("RF-", pr.number, 10);
    refund.amount = Money::Fen(pr.amount);
    refund.refunded_at = Timestamp::FromSeconds(pr.at);
    out->emplace_back(std::move(refund));
  }
}

}  // namespace pond
