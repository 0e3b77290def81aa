#include "http/server.hpp"

#include <algorithm>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <limits>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <variant>

#include "core/json_writer.hpp"
#include "core/log.hpp"

namespace pond {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// After an error response that closes the connection, read and discard what
// the client is still sending for a while: closing with unread data makes
// the kernel send RST, which can destroy the response before the client
// reads it.
constexpr std::chrono::seconds kLingerTimeout{2};
constexpr size_t kLingerMaxBytes = 1 << 20;
// Accept failures such as EMFILE repeat at once; pause instead of spinning.
constexpr std::chrono::milliseconds kAcceptRetryDelay{100};
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Splits "a=1&b=x+y" into decoded pairs; false on bad percent-encoding.
bool ParseQuery(std::string_view q, std::vector<std::pair<std::string, std::string>>& out) {
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view piece = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    if (piece.empty()) continue;
    size_t eq = piece.find('=');
    auto key = PercentDecode(piece.substr(0, eq), true);
    auto value = PercentDecode(eq == std::string_view::npos ? std::string_view() : piece.substr(eq + 1), true);
    if (!key || !value) return false;
    out.emplace_back(std::move(*key), std::move(*value));
  }
  return true;
}

// Header names must be tokens and values must not smuggle in a line break,
// or a handler echoing input could split the response.
bool IsSafeHeader(std::string_view name, std::string_view value) {
  if (name.empty()) return false;
  for (char c : name) {
    if (c <= ' ' || c >= 127 || c == ':') return false;
  }
  return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

Result<tcp::endpoint> ParseListen(std::string_view listen) {
  auto bad = [&](std::string why) {
    return InvalidArgument("bad listen address: " + why).With("listen", std::string(listen));
  };
  std::string_view host;
  std::string_view port_text;
  bool bracketed = false;
  if (!listen.empty() && listen.front() == '[') {
    size_t close = listen.find(']');
    if (close == std::string_view::npos || close + 1 >= listen.size() || listen[close + 1] != ':') {
      return bad("IPv6 takes the form [::1]:8080");
    }
    host = listen.substr(1, close - 1);
    port_text = listen.substr(close + 2);
    bracketed = true;
  } else {
    size_t colon = listen.rfind(':');
    if (colon == std::string_view::npos) return bad("expected host:port");
    host = listen.substr(0, colon);
    port_text = listen.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return bad("an IPv6 host needs brackets: [::1]:8080");
  }
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535) {
    return bad("port must be a number from 0 to 65535");
  }
  if (host == "localhost") host = "127.0.0.1";
  boost::system::error_code addr_ec;
  net::ip::address address = net::ip::make_address(host, addr_ec);
  if (addr_ec || bracketed != address.is_v6()) return bad("host must be an IP address or localhost");
  return tcp::endpoint(address, static_cast<unsigned short>(port));
}

std::string FormatEndpoint(const tcp::endpoint& ep) {
  std::string host = ep.address().to_string();
  if (ep.address().is_v6()) host = "[" + host + "]";
  return host + ":" + std::to_string(ep.port());
}

class Session;

// State shared by the server, its sessions and outstanding Responders; it
// outlives the HttpServer while a Responder is still held somewhere.
struct ServerCore {
  HttpServerOptions options;
  HttpHandler handler;
  std::mutex mu;
  // Once true nothing is posted to the io_context any more, so a Responder
  // called during or after Stop cannot touch a destroyed io_context.
  bool stopped = false;                                            // guarded by mu
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions;  // guarded by mu
};

// One connection. Everything except Post and ReleaseStream runs on the
// connection's strand (the executor of stream_).
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(std::shared_ptr<ServerCore> core, tcp::socket socket) : core_(std::move(core)), stream_(std::move(socket)) {
    boost::system::error_code ec;
    net::ip::address address = stream_->socket().remote_endpoint(ec).address();
    if (address.is_v6() && address.to_v6().is_v4_mapped()) {
      address = net::ip::make_address_v4(net::ip::v4_mapped, address.to_v6());
    }
    remote_address_ = address.to_string();
    remote_is_loopback_ = address.is_loopback();
  }

  ~Session() {
    std::lock_guard lock(core_->mu);
    core_->sessions.erase(this);
  }

  // Registers with the server and starts reading; a session accepted while
  // the server stops is dropped.
  void Start() {
    {
      std::lock_guard lock(core_->mu);
      if (core_->stopped) return;
      core_->sessions.emplace(this, weak_from_this());
    }
    net::dispatch(stream_->get_executor(), beast::bind_front_handler(&Session::ReadHeader, shared_from_this()));
  }

  // From Stop, before the io threads are joined.
  void Close() { net::post(stream_->get_executor(), beast::bind_front_handler(&Session::CloseNow, shared_from_this())); }

  // From Stop, after the io threads are joined: the socket and strand must
  // not outlive the io_context even if a Responder keeps this session.
  void ReleaseStream() { stream_.reset(); }

  // From any thread: queues the response to request `seq` on the strand.
  void Post(uint64_t seq, HttpResponse response) {
    std::lock_guard lock(core_->mu);
    if (core_->stopped) return;
    net::post(stream_->get_executor(), [self = shared_from_this(), seq, response = std::move(response)]() mutable {
      self->OnResponse(seq, std::move(response));
    });
  }

 private:
  void ReadHeader() {
    if (closed_) return;
    const HttpServerOptions& options = core_->options;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(
        std::min<size_t>(options.max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
    parser_->body_limit(options.max_body_bytes);
    // One deadline for the whole header, so trickling bytes does not extend it.
    stream_->expires_after(options.idle_timeout);
    http::async_read_header(*stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::OnHeader, shared_from_this()));
  }

  void OnHeader(beast::error_code ec, size_t) {
    if (ec) return OnReadError(ec);
    if (closed_) return;
    const auto& header = parser_->get();
    if (header.version() == 11 && !parser_->is_done() &&
        beast::iequals(header[http::field::expect], "100-continue")) {
      stream_->expires_after(core_->options.idle_timeout);
      net::async_write(*stream_, net::buffer(kContinue.data(), kContinue.size()),
                       [self = shared_from_this()](beast::error_code write_ec, size_t) {
                         if (write_ec) return self->CloseNow();
                         self->ReadBody();
                       });
      return;
    }
    ReadBody();
  }

  // Reads the body piecewise so the deadline is per read (idle), not for the
  // whole upload.
  void ReadBody() {
    if (closed_) return;
    if (parser_->is_done()) return OnRequest();
    stream_->expires_after(core_->options.idle_timeout);
    http::async_read_some(*stream_, buffer_, *parser_,
                          [self = shared_from_this()](beast::error_code ec, size_t) {
                            if (ec) return self->OnReadError(ec);
                            self->ReadBody();
                          });
  }

  void OnReadError(beast::error_code ec) {
    if (closed_) return;
    if (ec == http::error::body_limit) {
      return WriteAndClose(ProblemResponse(413, "Payload Too Large",
                                           "the request body exceeds " +
                                               std::to_string(core_->options.max_body_bytes) + " bytes"));
    }
    if (ec == http::error::header_limit) {
      return WriteAndClose(ProblemResponse(431, "Request Header Fields Too Large",
                                           "the request headers exceed " +
                                               std::to_string(core_->options.max_header_bytes) + " bytes"));
    }
    // A client that went away (cleanly between requests, or mid-message),
    // timed out, or reset gets no answer: there is nobody to read it.
    bool malformed = ec.category() == http::make_error_code(http::error::bad_method).category() &&
                     ec != http::error::end_of_stream && ec != http::error::partial_message;
    if (malformed) {
      Log(LogLevel::kDebug, "http malformed request", {{"remote", remote_address_}, {"error", ec.message()}});
      return WriteAndClose(ProblemResponse(400, "Bad Request", "malformed HTTP request: " + ec.message()));
    }
    CloseNow();
  }

  void OnRequest() {
    http::request<http::string_body> message = parser_->release();
    parser_.reset();
    stream_->expires_never();  // The handler may take its time; no read is pending.
    version_ = message.version();
    keep_alive_ = message.keep_alive();
    head_ = message.method() == http::verb::head;

    HttpRequest request;
    request.method = std::string(message.method_string());
    std::string_view target = message.target();
    if (target.empty() || target.front() != '/') {
      return WriteAndClose(ProblemResponse(400, "Bad Request", "the request target must be a path starting with '/'"));
    }
    size_t question = target.find('?');
    request.raw_path = std::string(target.substr(0, question));
    auto path = PercentDecode(request.raw_path, false);
    if (!path) {
      return Write(ProblemResponse(400, "Bad Request", "invalid percent-encoding in the request",
                                   {{"path", "invalid percent-encoding"}}),
                   keep_alive_);
    }
    request.path = std::move(*path);
    if (question != std::string_view::npos && !ParseQuery(target.substr(question + 1), request.query)) {
      return Write(ProblemResponse(400, "Bad Request", "invalid percent-encoding in the request",
                                   {{"query", "invalid percent-encoding"}}),
                   keep_alive_);
    }
    for (const auto& field : message) {
      request.headers.emplace_back(ToLower(field.name_string()), std::string(field.value()));
    }
    request.body = std::move(message.body());
    request.remote_address = remote_address_;
    request.remote_is_loopback = remote_is_loopback_;

    ++seq_;
    awaiting_response_ = true;
    auto pending = std::make_shared<PendingResponse>(shared_from_this(), seq_);
    Responder responder = [pending](HttpResponse response) {
      if (!pending->TryRespond(std::move(response))) {
        Log(LogLevel::kError, "http responder called more than once");
      }
    };
    // The one catch-all for request handlers (STYLE.md "Errors").
    try {
      core_->handler(std::move(request), std::move(responder));
    } catch (const std::exception& e) {
      Log(LogLevel::kError, "http handler threw", {{"method", std::string(message.method_string())}, {"what", e.what()}});
      pending->TryRespond(ProblemResponse(500, "Internal Server Error", "the server failed to handle the request"));
    } catch (...) {
      Log(LogLevel::kError, "http handler threw", {{"method", std::string(message.method_string())}});
      pending->TryRespond(ProblemResponse(500, "Internal Server Error", "the server failed to handle the request"));
    }
  }

  // Answers one request exactly once: the first response wins and a
  // Responder dropped uncalled answers 500, so the connection never hangs.
  class PendingResponse {
   public:
    PendingResponse(std::shared_ptr<Session> session, uint64_t seq) : session_(std::move(session)), seq_(seq) {}
    ~PendingResponse() {
      if (done_.exchange(true)) return;
      Log(LogLevel::kError, "http handler dropped its responder");
      session_->Post(seq_, ProblemResponse(500, "Internal Server Error", "the server failed to handle the request"));
    }
    PendingResponse(const PendingResponse&) = delete;
    PendingResponse& operator=(const PendingResponse&) = delete;

    bool TryRespond(HttpResponse response) {
      if (done_.exchange(true)) return false;
      session_->Post(seq_, std::move(response));
      return true;
    }

   private:
    std::shared_ptr<Session> session_;
    uint64_t seq_;
    std::atomic<bool> done_{false};
  };

  void OnResponse(uint64_t seq, HttpResponse response) {
    if (closed_ || !awaiting_response_ || seq != seq_) return;
    awaiting_response_ = false;
    Write(std::move(response), keep_alive_);
  }

  void WriteAndClose(HttpResponse response) {
    keep_alive_ = false;
    Write(std::move(response), false);
  }

  void Write(HttpResponse in, bool keep_alive) {
    if (in.status < 100 || in.status > 599) {
      Log(LogLevel::kError, "http handler returned an invalid status", {{"status", std::to_string(in.status)}});
      in = ProblemResponse(500, "Internal Server Error", "the server failed to handle the request");
    }
    // A file body (an export) is read piecewise as it is sent; once opened
    // it is unlinked, so it goes whatever becomes of the connection.
    uint64_t length = in.body.size();
    if (!in.file.empty()) {
      beast::error_code ec;
      file_.emplace();
      file_->open(in.file.c_str(), beast::file_mode::scan, ec);
      if (!ec) length = file_->size(ec);
      std::error_code ignored;
      std::filesystem::remove(in.file, ignored);
      if (ec) {
        Log(LogLevel::kError, "http response body unavailable", {{"error", ec.message()}});
        file_.reset();
        return Write(ProblemResponse(500, "Internal Server Error", "the server failed to handle the request"),
                     keep_alive);
      }
      file_left_ = length;
    }
    // A HEAD answer and a 1xx, 204 or 304 answer have no content (RFC 9110).
    const bool bodiless = in.status < 200 || in.status == 204 || in.status == 304;
    FormatHead(in, length, keep_alive, bodiless);
    if (head_ || bodiless) {
      file_.reset();
    } else if (!file_) {
      wire_ += in.body;
    }
    keep_alive_ = keep_alive;
    WriteOut();
  }

  // The status line and headers into wire_. Formatted by hand rather than
  // through Beast's serializer, whose buffer sequences took a tenth of the
  // HTTP threads' own time (bench/RESULTS.md).
  void FormatHead(const HttpResponse& in, uint64_t length, bool keep_alive, bool bodiless) {
    const auto status = static_cast<unsigned>(in.status);
    wire_.clear();
    wire_sent_ = 0;
    wire_ += version_ == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
    wire_ += std::to_string(status);
    wire_ += ' ';
    wire_ += http::obsolete_reason(http::int_to_status(status));
    wire_ += "\r\n";
    auto header = [&](std::string_view name, std::string_view value) {
      wire_.append(name).append(": ").append(value).append("\r\n");
    };
    header("Server", "pond");
    auto handler_header = [&](std::string_view name, std::string_view value) {
      // The framing is the server's: a handler may not set it.
      const bool framing = beast::iequals(name, "content-length") || beast::iequals(name, "transfer-encoding") ||
                           beast::iequals(name, "connection");
      if (framing || !IsSafeHeader(name, value)) {
        Log(LogLevel::kError, "http handler set an unsafe header", {{"name", std::string(name)}});
        return;
      }
      header(name, value);
    };
    if (!in.content_type.empty()) handler_header("Content-Type", in.content_type);
    for (const auto& [name, value] : in.headers) handler_header(name, value);
    // A HEAD answer keeps the length its GET would have; 1xx, 204 and 304 have none.
    if (!bodiless) header("Content-Length", std::to_string(length));
    if (version_ >= 11 && !keep_alive) header("Connection", "close");
    if (version_ == 10 && keep_alive) header("Connection", "keep-alive");
    wire_ += "\r\n";
  }

  // Writes wire_, then the file's next piece into it, until all is sent;
  // piecewise, so a large response to a slow reader is bounded by
  // idleness, not by its total duration.
  void WriteOut() {
    if (wire_sent_ == wire_.size() && file_ && file_left_ > 0) {
      beast::error_code ec;
      wire_.resize(static_cast<size_t>(std::min<uint64_t>(file_left_, kFilePiece)));
      const size_t n = file_->read(wire_.data(), wire_.size(), ec);
      if (ec || n == 0) return CloseNow();  // the head promised more than can be sent
      wire_.resize(n);
      wire_sent_ = 0;
      file_left_ -= n;
    }
    if (wire_sent_ == wire_.size()) {
      file_.reset();
      if (wire_.capacity() > kFilePiece) std::string().swap(wire_);  // keep a small buffer for the next answer
      if (keep_alive_) return ReadHeader();
      return LingeringClose();
    }
    stream_->expires_after(core_->options.idle_timeout);
    stream_->async_write_some(net::buffer(wire_.data() + wire_sent_, wire_.size() - wire_sent_),
                              [self = shared_from_this()](beast::error_code ec, size_t n) {
                                if (ec) return self->CloseNow();
                                self->wire_sent_ += n;
                                self->WriteOut();
                              });
  }

  void LingeringClose() {
    if (closed_) return;
    beast::error_code ec;
    stream_->socket().shutdown(tcp::socket::shutdown_send, ec);
    drain_buffer_.resize(4096);
    stream_->expires_after(kLingerTimeout);
    Drain();
  }

  void Drain() {
    stream_->async_read_some(net::buffer(drain_buffer_), [self = shared_from_this()](beast::error_code ec, size_t n) {
      self->drained_bytes_ += n;
      if (ec || self->drained_bytes_ > kLingerMaxBytes) return self->CloseNow();
      self->Drain();
    });
  }

  void CloseNow() {
    if (closed_) return;
    closed_ = true;
    stream_->close();
  }

  std::shared_ptr<ServerCore> core_;
  std::optional<beast::tcp_stream> stream_;
  std::string remote_address_;
  bool remote_is_loopback_ = false;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  // The answer being written: wire_ holds the head and body, or the head
  // and then each piece of file_ in turn; wire_sent_ is how much of wire_
  // is sent.
  std::string wire_;
  size_t wire_sent_ = 0;
  std::optional<beast::file> file_;
  uint64_t file_left_ = 0;
  static constexpr uint64_t kFilePiece = 64 * 1024;
  std::string drain_buffer_;
  size_t drained_bytes_ = 0;
  unsigned version_ = 11;
  bool head_ = false;  // the request being answered is a HEAD
  bool keep_alive_ = false;
  bool closed_ = false;
  // Numbers requests so a late or repeated response cannot answer the next one.
  uint64_t seq_ = 0;
  bool awaiting_response_ = false;
};

}  // namespace

const std::string* HttpRequest::Header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return &value;
  }
  return nullptr;
}

const std::string* HttpRequest::Query(std::string_view name) const {
  for (const auto& [key, value] : query) {
    if (key == name) return &value;
  }
  return nullptr;
}

std::optional<std::string> PercentDecode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (in.size() - i < 3) return std::nullopt;
      int hi = HexValue(in[i + 1]);
      int lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

HttpResponse ProblemResponse(int status, std::string_view title, std::string_view detail,
                             const std::vector<FieldError>& errors, std::string_view reason) {
  JsonWriter w;
  w.BeginObject().Field("type", "about:blank").Field("title", title).Field("status", status).Field("detail", detail);
  if (!reason.empty()) w.Field("reason", reason);
  w.Key("errors").BeginArray();
  for (const FieldError& e : errors) w.BeginObject().Field("field", e.field).Field("reason", e.reason).EndObject();
  w.EndArray().EndObject();
  HttpResponse response;
  response.status = status;
  response.content_type = "application/problem+json";
  response.body = w.Take();
  return response;
}

class HttpServer::Impl {
 public:
  Impl(HttpServerOptions options, HttpHandler handler)
      : core_(std::make_shared<ServerCore>()), ioc_(std::max(1, options.threads)) {
    core_->options = std::move(options);
    core_->handler = std::move(handler);
  }

  Status Start() {
    if (started_ || stopped_) return FailedPrecondition("an HttpServer starts once");
    const HttpServerOptions& options = core_->options;
    if (options.threads < 1) return InvalidArgument("threads must be at least 1");
    ASSIGN_OR_RETURN(tcp::endpoint endpoint, ParseListen(options.listen));

    acceptor_.emplace(net::make_strand(ioc_));
    beast::error_code ec;
    acceptor_->open(endpoint.protocol(), ec);
    if (!ec) acceptor_->set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_->bind(endpoint, ec);
    if (!ec) acceptor_->listen(net::socket_base::max_listen_connections, ec);
    if (!ec) bound_ = acceptor_->local_endpoint(ec);
    if (ec) {
      acceptor_.reset();
      return Unavailable("cannot listen on " + options.listen + ": " + ec.message()).With("listen", options.listen);
    }
    retry_timer_.emplace(acceptor_->get_executor());
    started_ = true;
    work_.emplace(ioc_.get_executor());
    Accept();
    for (int i = 0; i < options.threads; ++i) threads_.emplace_back([this] { ioc_.run(); });
    Log(LogLevel::kInfo, "http server listening", {{"address", FormatEndpoint(bound_)}});
    return Status::Ok();
  }

  void Stop() {
    if (stopped_) return;
    stopped_ = true;
    if (!started_) return;
    for (const auto& session : TakeSessions(true)) session->Close();
    net::post(acceptor_->get_executor(), [this] {
      beast::error_code ec;
      acceptor_->close(ec);
      retry_timer_->cancel();
    });
    // Without the guard run() returns once the closed sockets have finished
    // their aborted operations.
    work_.reset();
    for (auto& thread : threads_) thread.join();
    threads_.clear();
    for (const auto& session : TakeSessions(false)) session->ReleaseStream();
    Log(LogLevel::kInfo, "http server stopped", {{"address", FormatEndpoint(bound_)}});
  }

  int port() const { return started_ ? bound_.port() : 0; }
  std::string address() const { return FormatEndpoint(bound_); }

 private:
  // The live sessions, collected under the lock but used (and possibly
  // destroyed, which takes the lock) outside it.
  std::vector<std::shared_ptr<Session>> TakeSessions(bool mark_stopped) {
    std::vector<std::shared_ptr<Session>> out;
    std::lock_guard lock(core_->mu);
    if (mark_stopped) core_->stopped = true;
    for (const auto& [ptr, weak] : core_->sessions) {
      if (auto session = weak.lock()) out.push_back(std::move(session));
    }
    return out;
  }

  void Accept() {
    acceptor_->async_accept(net::make_strand(ioc_), [this](beast::error_code ec, tcp::socket socket) {
      if (!acceptor_->is_open()) return;
      if (ec) {
        Log(LogLevel::kWarn, "http accept failed", {{"error", ec.message()}});
        retry_timer_->expires_after(kAcceptRetryDelay);
        retry_timer_->async_wait([this](beast::error_code wait_ec) {
          if (!wait_ec && acceptor_->is_open()) Accept();
        });
        return;
      }
      beast::error_code nodelay_ec;
      socket.set_option(tcp::no_delay(true), nodelay_ec);  // Responses are small and latency-bound.
      std::make_shared<Session>(core_, std::move(socket))->Start();
      Accept();
    });
  }

  std::shared_ptr<ServerCore> core_;
  // Declared before the objects bound to it, so it is destroyed after them.
  net::io_context ioc_;
  std::optional<tcp::acceptor> acceptor_;
  std::optional<net::steady_timer> retry_timer_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
  tcp::endpoint bound_;
  bool started_ = false;
  bool stopped_ = false;
};

HttpServer::HttpServer(HttpServerOptions options, HttpHandler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Start() { return impl_->Start(); }
int HttpServer::port() const { return impl_->port(); }
std::string HttpServer::address() const { return impl_->address(); }
void HttpServer::Stop() { impl_->Stop(); }

}  // namespace pond
