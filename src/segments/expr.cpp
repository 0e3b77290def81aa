#include "segments/expr.hpp"

#include <algorithm>
#include <array>
#include <cassert>
#include <cstdio>
#include <initializer_list>
#include <span>
#include <utility>

#include "lifecycle/lifecycle.hpp"

namespace pond::segments {
namespace {

// In the order of Field; the names of window fields end in "Nd".
constexpr std::array<std::string_view, 18> kFieldNames = {"tier",
                                                          "lifecycle",
                                                          "gender",
                                                          "city",
                                                          "home_store",
                                                          "source",
                                                          "owner_staff",
                                                          "rfm",
                                                          "points",
                                                          "growth",
                                                          "orders_Nd",
                                                          "spend_Nd",
                                                          "weekend_orders_Nd",
                                                          "max_units_Nd",
                                                          "last_order_days",
                                                          "registered_days",
                                                          "birthday_month",
                                                          "age"};
static_assert(kFieldNames.size() == static_cast<size_t>(Field::kAge) + 1, "a name for every Field");

// Every field as an operator would write it, for error messages.
constexpr std::string_view kFieldList =
    "tier, lifecycle, gender, city, home_store, source, owner_staff, rfm, points, growth, orders_<N>d, spend_<N>d, "
    "weekend_orders_<N>d, max_units_<N>d, last_order_days, registered_days, birthday_month, age";

// The fixed value sets checked at parse time: lifecycle stages and RFM
// classes as lifecycle/lifecycle.cpp names them and genders as
// events/event.cpp does, with the Chinese labels operators see in the
// console so a label written by mistake gets a suggestion (none has no
// label). Tier ids depend on the tenant and are checked when the tree is
// compiled (segments/segment_index.hpp).
// A fixed set of values and the labels people see for them.
struct ValueSet {
  std::vector<std::string_view> names, labels;
};

template <typename E>
ValueSet ValuesOf(int count, std::string_view (*name)(E), std::string_view (*label)(E)) {
  ValueSet out;
  for (int i = 0; i < count; ++i) {
    out.names.push_back(name(static_cast<E>(i)));
    out.labels.push_back(label(static_cast<E>(i)));
  }
  return out;
}

const ValueSet& Stages() {
  static const ValueSet v = ValuesOf<Stage>(kStages, StageName, StageLabel);
  return v;
}
const ValueSet& RfmClasses() {
  static const ValueSet v = ValuesOf<RfmClass>(kRfmClasses, RfmClassName, RfmClassLabel);
  return v;
}
constexpr std::array<std::string_view, 3> kGenders = {"male", "female", "unknown"};
constexpr std::array<std::string_view, 3> kGenderLabels = {"男", "女", "未知"};

constexpr int32_t kMinWindowDays = 1;
constexpr int32_t kMaxWindowDays = 3650;  // ten years, the longest history a tenant keeps
// bought's minimum number of orders: more than a member places in any
// window, so a larger number is a mistake worth reporting.
constexpr int32_t kMaxMinOrders = 1000;
// 15 digits before the point keep hundredths (and hundredths * 100 in the
// evaluator) far inside int64.
constexpr size_t kMaxIntegerDigits = 15;
constexpr size_t kEchoBytes = 40;  // how much of the input an error repeats

constexpr std::string_view kExpectCondition =
    "a condition (a field comparison such as tier = \"gold\", tag(\"...\") or bought(\"...\", days)), not or '('";
constexpr std::string_view kExpectAfterCondition = "and, or or the end of the expression";
constexpr std::string_view kExpectAfterConditionInParens = "and, or or ')'";
constexpr std::string_view kExpectTextOperator = "=, !=, in or not in";
constexpr std::string_view kExpectNumberOperator = "=, !=, <, <=, >, >=, in, not in, between or not between";
constexpr std::string_view kExpectText = "a value in double quotes, e.g. \"gold\"";
constexpr std::string_view kExpectNumber = "a number, e.g. 4 or 99.50";

std::string Pos(size_t position) { return std::to_string(position); }

Status Fail(size_t position, std::string_view reason, std::string_view expected, std::string_view hint = {}) {
  return ExprError(position, reason, expected, hint);
}

// A piece of the input repeated in a message, cut at a code point boundary.
std::string Echo(std::string_view text) {
  if (text.size() <= kEchoBytes) return std::string(text);
  size_t end = kEchoBytes;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return std::string(text.substr(0, end)) + "...";
}

std::string Quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// Length of the well-formed UTF-8 sequence at s[i] (1..4), or 0 if the bytes
// there do not start one (RFC 3629: no overlongs, surrogates or > U+10FFFF).
size_t Utf8Length(std::string_view s, size_t i, uint32_t* code_point) {
  auto byte = [&](size_t k) -> unsigned { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0x100; };
  auto cont = [&](size_t k, unsigned lo = 0x80, unsigned hi = 0xBF) { return byte(k) >= lo && byte(k) <= hi; };
  const unsigned b0 = byte(0);
  if (b0 < 0x80) {
    *code_point = b0;
    return 1;
  }
  if (b0 >= 0xC2 && b0 <= 0xDF && cont(1)) {
    *code_point = ((b0 & 0x1F) << 6) | (byte(1) & 0x3F);
    return 2;
  }
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    const unsigned lo = b0 == 0xE0 ? 0xA0 : 0x80;
    const unsigned hi = b0 == 0xED ? 0x9F : 0xBF;
    if (!cont(1, lo, hi) || !cont(2)) return 0;
    *code_point = ((b0 & 0x0F) << 12) | ((byte(1) & 0x3F) << 6) | (byte(2) & 0x3F);
    return 3;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    const unsigned lo = b0 == 0xF0 ? 0x90 : 0x80;
    const unsigned hi = b0 == 0xF4 ? 0x8F : 0xBF;
    if (!cont(1, lo, hi) || !cont(2) || !cont(3)) return 0;
    *code_point = ((b0 & 0x07) << 18) | ((byte(1) & 0x3F) << 12) | ((byte(2) & 0x3F) << 6) | (byte(3) & 0x3F);
    return 4;
  }
  return 0;
}

std::string CodePointName(uint32_t cp) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "U+%04X", cp);
  return buf;
}

bool IsControl(uint32_t cp) { return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F); }
// Spaces other than the ASCII ones, and the byte order mark an editor may add.
bool IsInvisible(uint32_t cp) {
  return cp == 0xA0 || (cp >= 0x2000 && cp <= 0x200F) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
         cp == 0x3000 || cp == 0xFEFF;
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsWordStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsWordChar(char c) { return IsWordStart(c) || IsDigit(c); }

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string LowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = Lower(c);
  return out;
}

// Optimal string alignment distance: edits plus adjacent transpositions, so
// that `teir` is one step from `tier`.
size_t EditDistance(std::string_view a, std::string_view b) {
  const size_t n = a.size(), m = b.size();
  std::vector<std::vector<size_t>> d(n + 1, std::vector<size_t>(m + 1));
  for (size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (size_t i = 1; i <= n; ++i) {
    for (size_t j = 1; j <= m; ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[n][m];
}

// The candidate closest to `word`, if one is close enough to be a typo.
std::string Closest(std::string_view word, const std::vector<std::string>& candidates) {
  constexpr size_t kMaxCompared = 64;  // longer words are not typos of ours
  if (word.empty() || word.size() > kMaxCompared) return {};
  const size_t limit = word.size() <= 3 ? 1 : 2;
  std::string best;
  size_t best_distance = limit + 1;
  for (const std::string& c : candidates) {
    const size_t d = EditDistance(word, c);
    if (d < best_distance) best_distance = d, best = c;
  }
  if (!best.empty()) return best;
  // A part of a longer name: `store` for home_store, `birthday` for birthday_month.
  if (word.size() >= 4) {
    for (const std::string& c : candidates) {
      if (c.find(word) != std::string::npos) return c;
    }
  }
  return {};
}

std::string List(std::span<const std::string_view> names) {
  std::string out;
  for (std::string_view n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

std::string FormatHundredths(int64_t h) {
  std::string out = h < 0 ? "-" : "";
  const uint64_t u = h < 0 ? 0 - static_cast<uint64_t>(h) : static_cast<uint64_t>(h);
  out += std::to_string(u / 100);
  if (u % 100 != 0) {
    out += '.';
    out += static_cast<char>('0' + u % 100 / 10);
    out += static_cast<char>('0' + u % 10);
  }
  return out;
}

bool IsWindowField(Field f) {
  return f == Field::kOrders || f == Field::kSpend || f == Field::kWeekendOrders || f == Field::kMaxUnits;
}

// "orders_", the part of a window field's name before the days.
std::string_view WindowPrefix(Field f) {
  const std::string_view name = FieldName(f);
  return name.substr(0, name.size() - 2);
}


std::string_view OpText(CompareOp op) {
  switch (op) {
    case CompareOp::kEq:
      return "=";
    case CompareOp::kNe:
      return "!=";
    case CompareOp::kLt:
      return "<";
    case CompareOp::kLe:
      return "<=";
    case CompareOp::kGt:
      return ">";
    case CompareOp::kGe:
      return ">=";
  }
  return "?";
}

// ---------------------------------------------------------------------------
// Lexer

enum class Tok : uint8_t { kEnd, kWord, kString, kNumber, kLParen, kRParen, kComma, kOp, kError };

struct Token {
  Tok kind = Tok::kEnd;
  size_t position = 0;            // 1-based code point position (of the problem for kError)
  std::string_view raw;           // the source text of the token
  std::string text;               // kWord: lower-cased; kString: unescaped
  int64_t hundredths = 0;         // kNumber
  CompareOp op = CompareOp::kEq;  // kOp
  // kError: a lexical problem; `expected` empty means "what the parser wanted".
  std::string reason, expected, hint, byte;
};

bool IsWord(const Token& t, std::string_view w) { return t.kind == Tok::kWord && t.text == w; }

// What an error says it found.
std::string Describe(const Token& t) {
  switch (t.kind) {
    case Tok::kEnd:
      return "end of the expression";
    case Tok::kString:
      return "string " + Echo(t.raw);
    case Tok::kNumber:
      return "number " + Echo(t.raw);
    default:
      return "'" + Echo(t.raw) + "'";
  }
}

// Tokens on demand, so the first problem in reading order is the one reported.
class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  const Token& Peek() {
    if (!peeked_) {
      next_ = Lex();
      peeked_ = true;
    }
    return next_;
  }
  Token Take() {
    Peek();
    peeked_ = false;
    taken_any_ = true;
    return std::move(next_);
  }
  bool taken_any() const { return taken_any_; }

 private:
  Token Lex();
  Token LexString(Token t);
  Token LexNumber(Token t);
  Token Error(size_t position, std::string reason, std::string expected = {}, std::string hint = {}) {
    Token t;
    t.kind = Tok::kError;
    t.position = position;
    t.reason = std::move(reason);
    t.expected = std::move(expected);
    t.hint = std::move(hint);
    return t;
  }
  Token Utf8Error(size_t position, size_t byte_index) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned char>(text_[byte_index]));
    Token t = Error(position,
                    "invalid UTF-8: byte " + std::to_string(byte_index + 1) + " of the input (" + hex +
                        ") does not start a valid character",
                    "UTF-8 text", "send the expression as UTF-8");
    t.byte = std::to_string(byte_index + 1);
    return t;
  }
  size_t Position() const { return code_points_ + 1; }

  std::string_view text_;
  size_t at_ = 0;           // byte offset
  size_t code_points_ = 0;  // code points before at_
  Token next_;
  bool peeked_ = false;
  bool taken_any_ = false;
};

// Full-width look-alikes an input method slips in, and what to type instead.
std::string_view FullWidthHint(uint32_t cp) {
  switch (cp) {
    case 0x201C:
    case 0x201D:
    case 0x300C:
    case 0x300D:
      return "use the ASCII double quote \" around text";
    case 0xFF08:
      return "use the ASCII parenthesis (";
    case 0xFF09:
      return "use the ASCII parenthesis )";
    case 0xFF0C:
    case 0x3001:
      return "use the ASCII comma ,";
    case 0xFF1D:
      return "use the ASCII =";
    case 0xFF1C:
      return "use the ASCII <";
    case 0xFF1E:
      return "use the ASCII >";
    case 0xFF01:
      return "use the ASCII != for not equal";
    default:
      return "text values go in double quotes, e.g. city = \"深圳\"";
  }
}

Token Lexer::Lex() {
  while (at_ < text_.size() && (text_[at_] == ' ' || text_[at_] == '\t' || text_[at_] == '\n' || text_[at_] == '\r')) {
    ++at_;
    ++code_points_;
  }
  Token t;
  t.position = Position();
  if (at_ == text_.size()) {
    t.kind = Tok::kEnd;
    return t;
  }
  const size_t start = at_;
  const char c = text_[at_];
  auto single = [&](Tok kind, size_t bytes, CompareOp op = CompareOp::kEq) {
    t.kind = kind;
    t.op = op;
    t.raw = text_.substr(start, bytes);
    at_ += bytes;
    code_points_ += bytes;
    return std::move(t);
  };
  const char next = at_ + 1 < text_.size() ? text_[at_ + 1] : '\0';
  switch (c) {
    case '(':
      return single(Tok::kLParen, 1);
    case ')':
      return single(Tok::kRParen, 1);
    case ',':
      return single(Tok::kComma, 1);
    case '=':
      return single(Tok::kOp, 1, CompareOp::kEq);
    case '<':
      return next == '=' ? single(Tok::kOp, 2, CompareOp::kLe) : single(Tok::kOp, 1, CompareOp::kLt);
    case '>':
      return next == '=' ? single(Tok::kOp, 2, CompareOp::kGe) : single(Tok::kOp, 1, CompareOp::kGt);
    case '!':
      if (next == '=') return single(Tok::kOp, 2, CompareOp::kNe);
      return Error(t.position, "unexpected character '!'", {}, "write != for not equal, or the word not");
    case '&':
    case '|':
      return Error(t.position, std::string("unexpected character '") + c + "'", {},
                   "combine conditions with the words and, or");
    case '"':
      return LexString(std::move(t));
    default:
      break;
  }
  if (IsDigit(c) || c == '-' || c == '.') return LexNumber(std::move(t));
  if (IsWordStart(c)) {
    // A module's field is one word, "module.field" (coupons.unused).
    while (at_ < text_.size() &&
           (IsWordChar(text_[at_]) || (text_[at_] == '.' && at_ + 1 < text_.size() && IsWordStart(text_[at_ + 1])))) {
      ++at_;
    }
    t.kind = Tok::kWord;
    t.raw = text_.substr(start, at_ - start);
    t.text = LowerAscii(t.raw);
    code_points_ += at_ - start;
    return t;
  }
  uint32_t cp = 0;
  const size_t len = Utf8Length(text_, at_, &cp);
  if (len == 0) return Utf8Error(t.position, at_);
  if (IsControl(cp)) return Error(t.position, "unexpected character " + CodePointName(cp));
  if (IsInvisible(cp)) {
    return Error(t.position, "unexpected invisible character " + CodePointName(cp), {},
                 "remove it, or replace it with an ordinary space");
  }
  if (cp < 0x80) return Error(t.position, "unexpected character '" + std::string(1, c) + "'");
  return Error(t.position, "unexpected character '" + std::string(text_.substr(at_, len)) + "'", {},
               std::string(FullWidthHint(cp)));
}

Token Lexer::LexString(Token t) {
  const size_t start = at_;
  ++at_;
  ++code_points_;
  while (true) {
    // A lone backslash at the end leaves the string open too.
    if (at_ == text_.size() || (text_[at_] == '\\' && at_ + 1 == text_.size())) {
      return Error(t.position, "unterminated string: no closing \"", "a closing \"",
                   "a \" inside a string is written \\\"");
    }
    const char c = text_[at_];
    if (c == '"') break;
    if (c == '\\') {
      const char e = text_[at_ + 1];
      if (e != '"' && e != '\\') {
        uint32_t cp = 0;
        const size_t len = Utf8Length(text_, at_ + 1, &cp);
        const std::string shown =
            len == 0 || IsControl(cp) ? std::string("\\") : "\\" + std::string(text_.substr(at_ + 1, len));
        return Error(Position(), "unknown escape '" + shown + "' in a string", "\\\" or \\\\",
                     "only \\\" and \\\\ are escapes; write every other character as it is");
      }
      t.text += e;
      at_ += 2;
      code_points_ += 2;
      continue;
    }
    uint32_t cp = 0;
    const size_t len = Utf8Length(text_, at_, &cp);
    if (len == 0) return Utf8Error(Position(), at_);
    if (IsControl(cp)) {
      return Error(Position(), "control character " + CodePointName(cp) + " in a string", "text or a closing \"",
                   "a string stays on one line: remove line breaks and tabs");
    }
    t.text.append(text_.substr(at_, len));
    at_ += len;
    ++code_points_;
  }
  ++at_;
  ++code_points_;
  t.kind = Tok::kString;
  t.raw = text_.substr(start, at_ - start);
  return t;
}

Token Lexer::LexNumber(Token t) {
  const size_t start = at_;
  size_t i = at_;
  if (text_[i] == '-') ++i;
  size_t end = i;
  while (end < text_.size() && (IsWordChar(text_[end]) || text_[end] == '.')) ++end;
  const std::string_view literal = text_.substr(start, end - start);
  const std::string_view body = text_.substr(i, end - i);
  at_ = end;
  code_points_ += end - start;
  if (body.empty()) {
    return Error(t.position, "'-' must be followed directly by a digit", "a digit",
                 "write negative numbers without a space: points > -10");
  }
  const std::string shown = "'" + Echo(literal) + "'";
  constexpr std::string_view kExpectWellFormed = "a number such as 12, -3 or 99.50";
  size_t k = 0;
  while (k < body.size() && IsDigit(body[k])) ++k;
  const std::string_view whole = body.substr(0, k);
  std::string_view fraction;
  bool point = false;
  if (k < body.size() && body[k] == '.') {
    point = true;
    const size_t f = ++k;
    while (k < body.size() && IsDigit(body[k])) ++k;
    fraction = body.substr(f, k - f);
  }
  if (whole.empty()) {
    return Error(t.position, "malformed number " + shown, std::string(kExpectWellFormed),
                 "write a digit before the point: 0.5");
  }
  if (k < body.size()) {
    std::string hint = "numbers are written like 12, -3 or 99.50";
    const std::string_view rest = body.substr(k);
    if (!point && (rest == "d" || rest == "D")) {
      hint = "a window of days goes into the field name (orders_90d, spend_30d) or into bought(\"food\", 90)";
    } else if (rest[0] == 'e' || rest[0] == 'E') {
      hint = "write the number out in full, without an exponent";
    } else if (IsWordChar(rest[0])) {
      hint = "put a space between a number and a word";
    }
    return Error(t.position, "malformed number " + shown, std::string(kExpectWellFormed), hint);
  }
  if (point && fraction.empty()) {
    return Error(t.position, "malformed number " + shown + ": a digit must follow the point",
                 std::string(kExpectWellFormed));
  }
  if (fraction.size() > 2) {
    return Error(t.position, "the number " + shown + " has more than two digits after the point",
                 "a number with at most two decimals", "amounts are yuan with fen as two decimals, e.g. 99.95");
  }
  size_t first = 0;
  while (first + 1 < whole.size() && whole[first] == '0') ++first;
  if (whole.size() - first > kMaxIntegerDigits) {
    return Error(t.position, "the number " + shown + " is too large",
                 "a number with at most 15 digits before the point");
  }
  int64_t h = 0;
  for (char d : whole) h = h * 10 + (d - '0');
  h *= 100;
  if (!fraction.empty()) h += (fraction[0] - '0') * 10;
  if (fraction.size() == 2) h += fraction[1] - '0';
  t.kind = Tok::kNumber;
  t.raw = literal;
  t.hundredths = literal[0] == '-' ? -h : h;
  return t;
}

// ---------------------------------------------------------------------------
// Parser

NodePtr MakeNode(decltype(Node::kind) kind, size_t position) {
  auto node = std::make_unique<Node>();
  node->kind = std::move(kind);
  node->position = position;
  return node;
}

class Parser {
 public:
  explicit Parser(std::string_view text) : lex_(text) {}

  Result<NodePtr> Parse() {
    ASSIGN_OR_RETURN(NodePtr node, ParseOr());
    const Token& t = lex_.Peek();
    if (t.kind != Tok::kEnd) return AfterCondition(t, kExpectAfterCondition, 0);
    return node;
  }

 private:
  template <typename Chain>
  Result<NodePtr> ParseChain(std::string_view word, Result<NodePtr> (Parser::*operand)());
  Result<NodePtr> ParseOr();
  Result<NodePtr> ParseAnd();
  Result<NodePtr> ParseNot();
  Result<NodePtr> ParsePrimary();
  Result<NodePtr> ParseTag(const Token& word);
  Result<NodePtr> ParseBought(const Token& word);
  Result<NodePtr> ParseCondition(const Token& word);
  Result<FieldRef> ParseField(const Token& word);
  Result<Value> ParseValue(const FieldRef& field);
  Result<std::vector<Value>> ParseList(const FieldRef& field);

  Status Unexpected(const Token& t, std::string_view expected, std::string_view hint = {},
                    std::string_view context = {}) {
    if (t.kind == Tok::kError) {
      Status s = Fail(t.position, t.reason, t.expected.empty() ? expected : t.expected, t.hint);
      if (!t.byte.empty()) s.With("byte", t.byte);
      return s;
    }
    return Fail(t.position, "unexpected " + Describe(t) + std::string(context), expected, hint);
  }
  // The error for `t` after a complete condition, where and, or or the
  // closer belonged; `open_paren` is the enclosing '(' (0 at the top).
  Status AfterCondition(const Token& t, std::string_view expected, size_t open_paren);
  // Takes the ')' that closes the '(' at position `open`.
  Status Close(size_t open, std::string_view expected);
  Status Enter(size_t position) {
    if (++depth_ > kMaxDepth) {
      return Fail(position, "the expression nests deeper than " + std::to_string(kMaxDepth) + " parentheses and nots",
                  "at most " + std::to_string(kMaxDepth) + " levels of parentheses and not",
                  "a and b and c needs no parentheses, and not not x is x");
    }
    return Status::Ok();
  }

  Lexer lex_;
  int depth_ = 0;
};

Status Parser::AfterCondition(const Token& t, std::string_view expected, size_t open_paren) {
  if (t.kind == Tok::kRParen && open_paren == 0) {
    return Fail(t.position, "unexpected ')' without a matching '('", expected);
  }
  if (t.kind == Tok::kEnd) {
    return Fail(t.position,
                "unexpected end of the expression: the '(' at position " + Pos(open_paren) + " is not closed", expected,
                "add ')' to close the '(' at position " + Pos(open_paren));
  }
  if (t.kind == Tok::kWord) {
    const std::string guess = Closest(t.text, {"and", "or"});
    if (!guess.empty() && t.text.size() >= 2) {
      return Unexpected(t, expected, "did you mean " + guess + "?", " after a complete condition");
    }
  }
  if (t.kind == Tok::kError) return Unexpected(t, expected);
  return Unexpected(t, expected, "join conditions with and or or", " after a complete condition");
}

Status Parser::Close(size_t open, std::string_view expected) {
  const Token& t = lex_.Peek();
  if (t.kind == Tok::kRParen) {
    lex_.Take();
    return Status::Ok();
  }
  if (t.kind == Tok::kEnd) {
    return Fail(t.position, "unexpected end of the expression: the '(' at position " + Pos(open) + " is not closed",
                expected, "add ')' to close the '(' at position " + Pos(open));
  }
  return Unexpected(t, expected);
}

// `a or b or ...` and `a and b and ...` alike: one node for the whole chain.
template <typename Chain>
Result<NodePtr> Parser::ParseChain(std::string_view word, Result<NodePtr> (Parser::*operand)()) {
  const size_t start = lex_.Peek().position;
  ASSIGN_OR_RETURN(NodePtr first, (this->*operand)());
  if (!IsWord(lex_.Peek(), word)) return first;
  Chain node;
  node.children.push_back(std::move(first));
  while (IsWord(lex_.Peek(), word)) {
    lex_.Take();
    ASSIGN_OR_RETURN(NodePtr child, (this->*operand)());
    node.children.push_back(std::move(child));
  }
  return MakeNode(std::move(node), start);
}

Result<NodePtr> Parser::ParseOr() { return ParseChain<Or>("or", &Parser::ParseAnd); }

Result<NodePtr> Parser::ParseAnd() { return ParseChain<And>("and", &Parser::ParseNot); }

Result<NodePtr> Parser::ParseNot() {
  if (!IsWord(lex_.Peek(), "not")) return ParsePrimary();
  const Token word = lex_.Take();
  RETURN_IF_ERROR(Enter(word.position));
  ASSIGN_OR_RETURN(NodePtr child, ParseNot());
  --depth_;
  return MakeNode(Not{std::move(child)}, word.position);
}

Result<NodePtr> Parser::ParsePrimary() {
  const Token& t = lex_.Peek();
  switch (t.kind) {
    case Tok::kLParen: {
      const Token open = lex_.Take();
      RETURN_IF_ERROR(Enter(open.position));
      ASSIGN_OR_RETURN(NodePtr inner, ParseOr());
      const Token& close = lex_.Peek();
      if (close.kind != Tok::kRParen) return AfterCondition(close, kExpectAfterConditionInParens, open.position);
      lex_.Take();
      --depth_;
      return inner;
    }
    case Tok::kWord: {
      if (t.text == "and" || t.text == "or" || t.text == "in" || t.text == "between") {
        return Unexpected(t, kExpectCondition);
      }
      const Token word = lex_.Take();
      if (word.text == "tag") return ParseTag(word);
      if (word.text == "bought") return ParseBought(word);
      return ParseCondition(word);
    }
    case Tok::kEnd:
      if (!lex_.taken_any()) {
        return Fail(1, "the expression is empty", kExpectCondition, "for example: tier = \"gold\"");
      }
      return Unexpected(t, kExpectCondition);
    case Tok::kString:
    case Tok::kNumber:
      return Unexpected(t, kExpectCondition, "a condition starts with the field: city = \"深圳\", points >= 100");
    default:
      return Unexpected(t, kExpectCondition);
  }
}

Result<NodePtr> Parser::ParseTag(const Token& word) {
  constexpr std::string_view kExample = "for example: tag(\"零食吃货\")";
  if (lex_.Peek().kind != Tok::kLParen) return Unexpected(lex_.Peek(), "'(' after tag", kExample);
  const Token open = lex_.Take();
  const Token& arg = lex_.Peek();
  if (arg.kind != Tok::kString) return Unexpected(arg, "the tag name in double quotes", kExample);
  const Token name = lex_.Take();
  if (name.text.empty()) return Fail(name.position, "the tag name is empty", "a tag name in double quotes", kExample);
  RETURN_IF_ERROR(Close(open.position, "')'"));
  return MakeNode(Tag{name.text, name.position}, word.position);
}

Result<NodePtr> Parser::ParseBought(const Token& word) {
  constexpr std::string_view kExample = "for example: bought(\"food\", 90) for the food category in the last 90 days";
  if (lex_.Peek().kind != Tok::kLParen) return Unexpected(lex_.Peek(), "'(' after bought", kExample);
  const Token open = lex_.Take();
  if (lex_.Peek().kind != Tok::kString) return Unexpected(lex_.Peek(), "the category in double quotes", kExample);
  const Token category = lex_.Take();
  if (category.text.empty()) {
    return Fail(category.position, "the category is empty", "a category in double quotes", kExample);
  }
  const Token& comma = lex_.Peek();
  if (comma.kind != Tok::kComma) {
    std::string_view hint = kExample;
    if (comma.kind == Tok::kRParen) hint = "bought needs a window in days: bought(\"food\", 90)";
    return Unexpected(comma, "',' and the number of days", hint);
  }
  lex_.Take();
  constexpr std::string_view kExpectDays = "a number of days from 1 to 3650";
  if (lex_.Peek().kind != Tok::kNumber) return Unexpected(lex_.Peek(), kExpectDays, kExample);
  const Token days = lex_.Take();
  if (days.hundredths % 100 != 0 || days.hundredths < kMinWindowDays * 100 || days.hundredths > kMaxWindowDays * 100) {
    return Fail(days.position, "the window of bought must be 1 to 3650 days, not " + Echo(days.raw), kExpectDays,
                kExample);
  }
  Bought bought{category.text, static_cast<int32_t>(days.hundredths / 100)};
  if (lex_.Peek().kind != Tok::kComma) {
    RETURN_IF_ERROR(Close(open.position, "',' and the minimum number of orders, or ')'"));
    return MakeNode(std::move(bought), word.position);
  }
  lex_.Take();
  constexpr std::string_view kExampleMin =
      "for example: bought(\"food\", 90, 2) for two or more orders with food in the last 90 days";
  constexpr std::string_view kExpectMin = "a whole number of orders from 1 to 1000";
  if (lex_.Peek().kind != Tok::kNumber) return Unexpected(lex_.Peek(), kExpectMin, kExampleMin);
  const Token min_orders = lex_.Take();
  if (min_orders.hundredths % 100 != 0 || min_orders.hundredths < 100 || min_orders.hundredths > kMaxMinOrders * 100) {
    return Fail(
        min_orders.position,
        "the minimum number of orders in bought must be a whole number from 1 to 1000, not " + Echo(min_orders.raw),
        kExpectMin, kExampleMin);
  }
  bought.min_orders = static_cast<int32_t>(min_orders.hundredths / 100);
  if (lex_.Peek().kind == Tok::kComma) {
    return Unexpected(lex_.Peek(), "')'",
                      "bought takes a category, a window in days and a minimum number of orders: "
                      "bought(\"food\", 90, 2)");
  }
  RETURN_IF_ERROR(Close(open.position, "')'"));
  return MakeNode(std::move(bought), word.position);
}

Result<FieldRef> Parser::ParseField(const Token& word) {
  static constexpr std::array<std::pair<std::string_view, Field>, 14> kPlain = {{
      {"tier", Field::kTier},
      {"lifecycle", Field::kLifecycle},
      {"gender", Field::kGender},
      {"city", Field::kCity},
      {"home_store", Field::kHomeStore},
      {"source", Field::kSource},
      {"owner_staff", Field::kOwnerStaff},
      {"rfm", Field::kRfm},
      {"points", Field::kPoints},
      {"growth", Field::kGrowth},
      {"last_order_days", Field::kLastOrderDays},
      {"registered_days", Field::kRegisteredDays},
      {"birthday_month", Field::kBirthdayMonth},
      {"age", Field::kAge},
  }};
  const std::string& name = word.text;
  for (const auto& [text, field] : kPlain) {
    if (name == text) return FieldRef{field, 0, {}};
  }
  // Whether the tenant has it is for the index to say (its modules add them).
  if (name.find('.') != std::string::npos) return FieldRef{Field::kModule, 0, name};
  // Whole-prefix matches: "weekend_orders_7d" does not start with "orders_".
  for (Field field : {Field::kOrders, Field::kSpend, Field::kWeekendOrders, Field::kMaxUnits}) {
    const std::string_view prefix = WindowPrefix(field);
    if (name.size() < prefix.size() + 2 || !name.starts_with(prefix) || name.back() != 'd') continue;
    const std::string_view digits = std::string_view(name).substr(prefix.size(), name.size() - prefix.size() - 1);
    if (!std::all_of(digits.begin(), digits.end(), IsDigit)) continue;
    int64_t days = 0;
    for (char d : digits) days = std::min<int64_t>(days * 10 + (d - '0'), int64_t{kMaxWindowDays} + 1);
    if (days < kMinWindowDays || days > kMaxWindowDays) {
      return Fail(word.position, "the window of " + Echo(word.raw) + " must be 1 to 3650 days",
                  std::string(prefix) + "<N>d with N from 1 to 3650",
                  "for example: " + std::string(prefix) + "365d for the last year");
    }
    return FieldRef{field, static_cast<int32_t>(days), {}};
  }
  if (name == "orders" || name == "spend" || name == "weekend_orders" || name == "max_units") {
    return Fail(word.position, name + " needs a window in days: " + name + "_<N>d",
                name + "_<N>d with N from 1 to 3650", "for example: " + name + "_90d for the last 90 days");
  }
  // Suggest window fields with the user's own number of days.
  std::string days = "90";
  if (const size_t d = name.find_first_of("0123456789"); d != std::string::npos) {
    days = name.substr(d, std::min<size_t>(name.find_first_not_of("0123456789", d), name.size()) - d);
    if (days.size() > 4) days = "90";
  }
  // In the order of Field: for a part of a name, the first field containing
  // it wins, so `order` suggests orders_90d before weekend_orders_90d.
  std::vector<std::string> candidates;
  for (size_t i = 0; i < kFieldNames.size(); ++i) {
    const auto f = static_cast<Field>(i);
    candidates.push_back(IsWindowField(f) ? std::string(WindowPrefix(f)) + days + "d" : std::string(FieldName(f)));
  }
  candidates.insert(candidates.end(), {"tag", "bought", "not"});
  const std::string guess = Closest(name, candidates);
  const std::string expected = "a field: " + std::string(kFieldList);
  if (!guess.empty()) {
    const std::string shown = guess == "tag" || guess == "bought" ? guess + "(...)" : guess;
    return Fail(word.position, "unknown field '" + Echo(word.raw) + "'; did you mean " + shown + "?", expected,
                "did you mean " + shown + "?");
  }
  return Fail(word.position, "unknown field '" + Echo(word.raw) + "'", expected,
              "a condition starts with a field, tag(...) or bought(...); text values go in double quotes");
}

Result<NodePtr> Parser::ParseCondition(const Token& word) {
  ASSIGN_OR_RETURN(FieldRef field, ParseField(word));
  const bool text = IsTextField(field.field);
  const std::string name = FieldText(field);
  const std::string_view expect_op = text ? kExpectTextOperator : kExpectNumberOperator;
  auto text_only = [&](const Token& t) {
    return Fail(t.position,
                name + " is a text field and compares only with =, !=, in and not in, not with " + std::string(t.raw),
                kExpectTextOperator, "list the values you want instead: " + name + " in (\"...\", \"...\")");
  };
  const Token& t = lex_.Peek();
  if (t.kind == Tok::kOp) {
    const Token op = lex_.Take();
    if (text && op.op != CompareOp::kEq && op.op != CompareOp::kNe) return text_only(op);
    ASSIGN_OR_RETURN(Value value, ParseValue(field));
    return MakeNode(Compare{field, op.op, std::move(value)}, word.position);
  }
  bool negated = false;
  if (IsWord(t, "not")) {
    lex_.Take();
    negated = true;
    const Token& after = lex_.Peek();
    if (!IsWord(after, "in") && !IsWord(after, "between")) {
      const bool equals = after.kind == Tok::kOp && after.op == CompareOp::kEq;
      return Unexpected(after, "in or between after not", equals ? "use != for not equal" : "",
                        " after '" + name + " not'");
    }
  }
  const Token& kw = lex_.Peek();
  if (IsWord(kw, "in")) {
    lex_.Take();
    ASSIGN_OR_RETURN(std::vector<Value> values, ParseList(field));
    return MakeNode(In{field, negated, std::move(values)}, word.position);
  }
  if (IsWord(kw, "between")) {
    const Token between = lex_.Take();
    if (text) return text_only(between);
    ASSIGN_OR_RETURN(Value low, ParseValue(field));
    if (!IsWord(lex_.Peek(), "and")) {
      return Unexpected(lex_.Peek(), "and", "for example: " + name + " between 1 and 10");
    }
    lex_.Take();
    ASSIGN_OR_RETURN(Value high, ParseValue(field));
    if (low.hundredths > high.hundredths) {
      return Fail(low.position,
                  "between " + FormatHundredths(low.hundredths) + " and " + FormatHundredths(high.hundredths) +
                      " is empty: the low end comes first",
                  "a low end not above the high end",
                  "write " + name + " between " + FormatHundredths(high.hundredths) + " and " +
                      FormatHundredths(low.hundredths));
    }
    return MakeNode(Between{field, negated, std::move(low), std::move(high)}, word.position);
  }
  std::string_view hint;
  if (kw.kind == Tok::kString || kw.kind == Tok::kNumber) hint = "put an operator between the field and the value";
  return Unexpected(kw, expect_op, hint, " after the field " + name);
}

Result<Value> Parser::ParseValue(const FieldRef& field) {
  const bool text = IsTextField(field.field);
  const std::string name = FieldText(field);
  const Token& t = lex_.Peek();
  if (t.kind == Tok::kString) {
    if (!text) {
      return Fail(t.position, name + " is a number field: write the number without quotes", kExpectNumber,
                  "for example: " + name + (field.field == Field::kSpend ? " >= 99.50" : " >= 4"));
    }
    Token s = lex_.Take();
    auto check = [&](const auto& names, const auto& labels, std::string_view what) -> Status {
      for (std::string_view n : names) {
        if (s.text == n) return Status::Ok();
      }
      std::string guess;
      for (size_t i = 0; i < labels.size(); ++i) {
        if (!labels[i].empty() && s.text == labels[i]) guess = names[i];
      }
      if (guess.empty()) guess = Closest(LowerAscii(s.text), std::vector<std::string>(names.begin(), names.end()));
      const std::string reason = "unknown " + std::string(what) + " " + Echo(s.raw);
      return Fail(s.position, guess.empty() ? reason : reason + "; did you mean \"" + guess + "\"?",
                  "one of " + List(names), name + " is one of " + List(names));
    };
    if (field.field == Field::kLifecycle) RETURN_IF_ERROR(check(Stages().names, Stages().labels, "lifecycle stage"));
    if (field.field == Field::kGender) RETURN_IF_ERROR(check(kGenders, kGenderLabels, "gender"));
    if (field.field == Field::kRfm) RETURN_IF_ERROR(check(RfmClasses().names, RfmClasses().labels, "RFM class"));
    return Value{true, std::move(s.text), 0, s.position};
  }
  if (t.kind == Tok::kNumber) {
    if (text) {
      return Fail(t.position, name + " is a text field: put the value in double quotes", kExpectText,
                  "for example: " + name + " = \"" + Echo(t.raw) + "\"");
    }
    const Token n = lex_.Take();
    if (field.field != Field::kSpend && n.hundredths % 100 != 0) {
      return Fail(n.position, name + " takes whole numbers, not " + Echo(n.raw), "a whole number",
                  "only spend_<N>d takes decimals (yuan with fen)");
    }
    if (field.field == Field::kBirthdayMonth && (n.hundredths < 100 || n.hundredths > 1200)) {
      return Fail(n.position, "birthday_month is a month from 1 to 12, not " + Echo(n.raw), "a month from 1 to 12");
    }
    return Value{false, {}, n.hundredths, n.position};
  }
  std::string hint;
  if (t.kind == Tok::kWord && text) hint = "text values go in double quotes: " + name + " = \"" + Echo(t.raw) + "\"";
  if (t.kind == Tok::kOp) hint = t.raw == ">" ? "use != for not equal" : "compare with a single =, !=, <, <=, > or >=";
  return Unexpected(t, text ? kExpectText : kExpectNumber, hint);
}

Result<std::vector<Value>> Parser::ParseList(const FieldRef& field) {
  const std::string name = FieldText(field);
  const std::string example = IsTextField(field.field) ? name + " in (\"a\", \"b\")" : name + " in (1, 2)";
  if (lex_.Peek().kind != Tok::kLParen) {
    return Unexpected(lex_.Peek(), "'(' and a list of values", "in takes a list in parentheses: " + example);
  }
  const Token open = lex_.Take();
  std::vector<Value> values;
  while (true) {
    ASSIGN_OR_RETURN(Value v, ParseValue(field));
    values.push_back(std::move(v));
    if (lex_.Peek().kind != Tok::kComma) break;
    lex_.Take();
  }
  RETURN_IF_ERROR(Close(open.position, "',' or ')'"));
  return values;
}

// ToText -----------------------------------------------------------------

void Write(const Node& node, std::string& out);

void WriteValue(const Value& v, std::string& out) { out += v.is_text ? Quote(v.text) : FormatHundredths(v.hundredths); }

void WriteOperand(const Node& child, bool parenthesize, std::string& out) {
  if (parenthesize) out += '(';
  Write(child, out);
  if (parenthesize) out += ')';
}

// Parentheses only where the grammar needs them, so the text nests no deeper
// than the expression it was parsed from (kMaxDepth) and reads naturally.
void Write(const Node& node, std::string& out) {
  if (const auto* c = std::get_if<Compare>(&node.kind)) {
    out += FieldText(c->field);
    out += ' ';
    out += OpText(c->op);
    out += ' ';
    WriteValue(c->value, out);
  } else if (const auto* in = std::get_if<In>(&node.kind)) {
    out += FieldText(in->field);
    out += in->negated ? " not in (" : " in (";
    for (size_t i = 0; i < in->values.size(); ++i) {
      if (i) out += ", ";
      WriteValue(in->values[i], out);
    }
    out += ')';
  } else if (const auto* b = std::get_if<Between>(&node.kind)) {
    out += FieldText(b->field);
    out += b->negated ? " not between " : " between ";
    WriteValue(b->low, out);
    out += " and ";
    WriteValue(b->high, out);
  } else if (const auto* tag = std::get_if<Tag>(&node.kind)) {
    out += "tag(" + Quote(tag->name) + ")";
  } else if (const auto* bought = std::get_if<Bought>(&node.kind)) {
    out += "bought(" + Quote(bought->category) + ", " + std::to_string(bought->days);
    // The default stays implicit, so texts saved before min_orders existed are canonical still.
    if (bought->min_orders != 1) out += ", " + std::to_string(bought->min_orders);
    out += ')';
  } else if (const auto* a = std::get_if<And>(&node.kind)) {
    assert(!a->children.empty());
    for (size_t i = 0; i < a->children.size(); ++i) {
      if (i) out += " and ";
      const Node& child = *a->children[i];
      WriteOperand(child, std::holds_alternative<And>(child.kind) || std::holds_alternative<Or>(child.kind), out);
    }
  } else if (const auto* o = std::get_if<Or>(&node.kind)) {
    assert(!o->children.empty());
    for (size_t i = 0; i < o->children.size(); ++i) {
      if (i) out += " or ";
      const Node& child = *o->children[i];
      WriteOperand(child, std::holds_alternative<Or>(child.kind), out);
    }
  } else if (const auto* n = std::get_if<Not>(&node.kind)) {
    assert(n->child);
    out += "not ";
    WriteOperand(*n->child, std::holds_alternative<And>(n->child->kind) || std::holds_alternative<Or>(n->child->kind),
                 out);
  }
}

// The 1-based position of the character that byte `offset` belongs to.
size_t PositionOfByte(std::string_view text, size_t offset) {
  size_t position = 0;
  for (size_t i = 0; i <= offset && i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++position;
  }
  return std::max<size_t>(position, 1);
}

}  // namespace

bool IsTextField(Field f) {
  switch (f) {
    case Field::kTier:
    case Field::kLifecycle:
    case Field::kGender:
    case Field::kCity:
    case Field::kHomeStore:
    case Field::kSource:
    case Field::kOwnerStaff:
    case Field::kRfm:
      return true;
    default:
      return false;
  }
}

std::string_view FieldName(Field f) {
  const auto i = static_cast<size_t>(f);
  return i < kFieldNames.size() ? kFieldNames[i] : "module.field";
}

std::string FieldText(const FieldRef& f) {
  if (f.field == Field::kModule) return f.name;
  if (IsWindowField(f.field)) return std::string(WindowPrefix(f.field)) + std::to_string(f.days) + "d";
  return std::string(FieldName(f.field));
}


namespace {

// The conditions (leaves) of a tree, in reading order.
void CollectConditions(const Node& node, std::vector<const Node*>& out) {
  if (const auto* a = std::get_if<And>(&node.kind)) {
    for (const NodePtr& c : a->children) CollectConditions(*c, out);
  } else if (const auto* o = std::get_if<Or>(&node.kind)) {
    for (const NodePtr& c : o->children) CollectConditions(*c, out);
  } else if (const auto* n = std::get_if<Not>(&node.kind)) {
    CollectConditions(*n->child, out);
  } else {
    out.push_back(&node);
  }
}

}  // namespace

Result<NodePtr> ParseExpr(std::string_view text) {
  const std::string limit = std::to_string(kMaxExprBytes);
  if (text.size() > kMaxExprBytes) {
    return Fail(PositionOfByte(text, kMaxExprBytes),
                "the expression is " + std::to_string(text.size()) + " bytes, longer than the limit of " + limit,
                "an expression of at most " + limit + " bytes", "split the audience into several segments");
  }
  ASSIGN_OR_RETURN(NodePtr node, Parser(text).Parse());
  // Each condition may scan every member under the tenant's read lock.
  std::vector<const Node*> conditions;
  CollectConditions(*node, conditions);
  if (conditions.size() > kMaxConditions) {
    const std::string most = std::to_string(kMaxConditions);
    return Fail(conditions[kMaxConditions]->position,
                "the expression has " + std::to_string(conditions.size()) + " conditions, more than the limit of " +
                    most,
                "an expression of at most " + most + " conditions",
                "use in (...) for many values of one field, or split the audience into several segments");
  }
  // What is saved is the canonical text; it must parse again too.
  if (const size_t canonical = ToText(*node).size(); canonical > kMaxExprBytes) {
    return Fail(1,
                "the expression is " + std::to_string(canonical) +
                    " bytes written out canonically (spaces around operators, two decimals), longer than the limit "
                    "of " +
                    limit,
                "an expression of at most " + limit + " bytes", "split the audience into several segments");
  }
  return node;
}

Status ExprError(size_t position, std::string_view reason, std::string_view expected, std::string_view hint) {
  Status s = InvalidArgument("at position " + std::to_string(position) + ": " + std::string(reason));
  s.With("position", std::to_string(position)).With("expected", std::string(expected));
  if (!hint.empty()) s.With("hint", std::string(hint));
  return s;
}

std::string ToText(const Node& node) {
  std::string out;
  Write(node, out);
  return out;
}

}  // namespace pond::segments
