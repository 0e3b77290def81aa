#include "wire.hpp"

#include <charconv>

namespace pond::bench {
namespace {

// Pond's headers are a few hundred bytes; more without an end is not HTTP.
constexpr size_t kMaxHeaderBytes = 64 << 10;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool ParseInt(std::string_view text, long long& value) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

Parsed Malformed(std::string error) { return Parsed{Parsed::kMalformed, 0, std::move(error)}; }

// One RESP scalar at `pos`: its value, and where the next element starts.
// kPartial when its bytes have not all arrived.
Parsed ParseRespScalar(std::string_view in, size_t pos, std::string_view& value) {
  const size_t eol = in.find("\r\n", pos);
  if (eol == std::string_view::npos) return Parsed{};
  const char type = in[pos];
  const std::string_view line = in.substr(pos + 1, eol - pos - 1);
  if (type == '+' || type == '-' || type == ':') {
    value = line;
    return Parsed{Parsed::kWhole, eol + 2 - pos, {}};
  }
  if (type != '$') return Malformed(std::string("unexpected RESP type '") + type + "'");
  long long length = 0;
  if (!ParseInt(line, length) || length < -1) return Malformed("bad RESP bulk length");
  if (length == -1) {
    value = {};
    return Parsed{Parsed::kWhole, eol + 2 - pos, {}};
  }
  const size_t data = eol + 2, end = data + static_cast<size_t>(length) + 2;
  if (in.size() < end) return Parsed{};
  value = in.substr(data, static_cast<size_t>(length));
  return Parsed{Parsed::kWhole, end - pos, {}};
}

void AppendBulk(std::string& out, std::string_view arg) {
  out += '$';
  out += std::to_string(arg.size());
  out += "\r\n";
  out += arg;
  out += "\r\n";
}

}  // namespace

Parsed ParseHttpResponse(std::string_view in, Reply& out) {
  const size_t header_end = in.find("\r\n\r\n");
  if (header_end == std::string_view::npos) {
    return in.size() > kMaxHeaderBytes ? Malformed("HTTP headers without an end") : Parsed{};
  }
  const std::string_view head = in.substr(0, header_end);
  if (!head.starts_with("HTTP/1.1 ") || head.size() < 12) return Malformed("not an HTTP/1.1 status line");
  long long status = 0;
  if (!ParseInt(head.substr(9, 3), status)) return Malformed("bad HTTP status code");
  long long length = -1;
  size_t line_start = head.find("\r\n");
  while (line_start != std::string_view::npos) {
    line_start += 2;
    const size_t line_end = head.find("\r\n", line_start);
    const std::string_view line = head.substr(line_start, line_end - line_start);
    const size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      const std::string_view name = line.substr(0, colon), value = Trim(line.substr(colon + 1));
      if (EqualsIgnoreCase(name, "content-length") && !ParseInt(value, length)) {
        return Malformed("bad Content-Length");
      }
      if (EqualsIgnoreCase(name, "transfer-encoding")) return Malformed("chunked responses are not supported");
    }
    line_start = line_end;
  }
  if (length < 0) return Malformed("an HTTP response without Content-Length");
  const size_t total = header_end + 4 + static_cast<size_t>(length);
  if (in.size() < total) return Parsed{};
  out.status = static_cast<int>(status);
  out.body = in.substr(header_end + 4, static_cast<size_t>(length));
  return Parsed{Parsed::kWhole, total, {}};
}

Parsed ParseRespReply(std::string_view in, Reply& out) {
  if (in.empty()) return Parsed{};
  out.type = in[0];
  out.values.clear();
  if (in[0] != '*') {
    out.values.emplace_back();
    return ParseRespScalar(in, 0, out.values.back());
  }
  const size_t eol = in.find("\r\n");
  if (eol == std::string_view::npos) return Parsed{};
  long long count = 0;
  if (!ParseInt(in.substr(1, eol - 1), count) || count < -1) return Malformed("bad RESP array length");
  size_t pos = eol + 2;
  for (long long i = 0; i < count; ++i) {
    if (pos >= in.size()) return Parsed{};
    if (in[pos] == '*') return Malformed("nested RESP arrays are not supported");
    std::string_view value;
    Parsed element = ParseRespScalar(in, pos, value);
    if (element.outcome != Parsed::kWhole) return element;
    out.values.push_back(value);
    pos += element.consumed;
  }
  return Parsed{Parsed::kWhole, pos, {}};
}

Parsed ParseReply(Wire wire, std::string_view in, Reply& out) {
  return wire == Wire::kHttp ? ParseHttpResponse(in, out) : ParseRespReply(in, out);
}

void AppendHttpRequest(std::string& out, std::string_view method, std::string_view path, std::string_view body,
                       std::string_view content_type) {
  out += method;
  out += ' ';
  out += path;
  out += " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  if (method != "GET") {
    out += "Content-Type: ";
    out += content_type;
    out += "\r\nContent-Length: ";
    out += std::to_string(body.size());
    out += "\r\n";
  }
  out += "\r\n";
  out += body;
}

void AppendRespCommand(std::string& out, std::initializer_list<std::string_view> args) {
  out += '*';
  out += std::to_string(args.size());
  out += "\r\n";
  for (std::string_view arg : args) AppendBulk(out, arg);
}

void AppendRespCommand(std::string& out, const std::vector<std::string>& args) {
  out += '*';
  out += std::to_string(args.size());
  out += "\r\n";
  for (const std::string& arg : args) AppendBulk(out, arg);
}

}  // namespace pond::bench
