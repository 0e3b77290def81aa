#include "http/server.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace pond {
namespace {

struct ClientResponse {
  std::string version;  // "HTTP/1.1"
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;

  std::string Header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
      if (k == name) return v;
    }
    return "<absent>";
  }
};

// A blocking HTTP/1.1 client on raw sockets: just enough to drive the server
// byte by byte, including requests no real client library would send.
class Client {
 public:
  explicit Client(int port, bool ipv6 = false) {
    fd_ = ::socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
    // A broken server fails the test instead of hanging it.
    timeval timeout{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    int rc;
    if (ipv6) {
      sockaddr_in6 addr{};
      addr.sin6_family = AF_INET6;
      addr.sin6_port = htons(static_cast<uint16_t>(port));
      addr.sin6_addr = in6addr_loopback;
      rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    } else {
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(static_cast<uint16_t>(port));
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    }
    connected_ = rc == 0;
  }
  ~Client() { Close(); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return connected_; }

  void Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      ASSERT_GT(n, 0) << "send failed";
      data.remove_prefix(static_cast<size_t>(n));
    }
  }

  // One response; nullopt if the connection ends (or times out) first. An
  // answer to HEAD (`to_head`) has a Content-Length but no body.
  std::optional<ClientResponse> Read(bool to_head = false) {
    size_t header_end;
    while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return std::nullopt;
    }
    ClientResponse response;
    std::string_view head(buffer_.data(), header_end);
    size_t line_end = head.find("\r\n");
    std::string_view status_line = head.substr(0, line_end);
    response.version = std::string(status_line.substr(0, status_line.find(' ')));
    response.status = std::stoi(std::string(status_line.substr(status_line.find(' ') + 1, 3)));
    size_t content_length = 0;
    while (line_end != std::string_view::npos) {
      head.remove_prefix(line_end + 2);
      line_end = head.find("\r\n");
      std::string_view line = head.substr(0, line_end);
      size_t colon = line.find(':');
      std::string name(line.substr(0, colon));
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value(line.substr(colon + 2));
      if (name == "content-length") content_length = std::stoul(value);
      response.headers.emplace_back(std::move(name), std::move(value));
    }
    if (to_head) content_length = 0;
    size_t body_start = header_end + 4;
    while (buffer_.size() < body_start + content_length) {
      if (!Fill()) return std::nullopt;
    }
    response.body = buffer_.substr(body_start, content_length);
    buffer_.erase(0, body_start + content_length);
    return response;
  }

  // True once the server has closed the connection (EOF or reset).
  bool ServerClosed() { return buffer_.empty() && !Fill(); }

  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  bool Fill() {
    char chunk[4096];
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string buffer_;
};

std::string Get(std::string_view target, std::string_view extra_headers = "") {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: test\r\n" + std::string(extra_headers) + "\r\n";
}

HttpResponse Text(std::string body, int status = 200) {
  HttpResponse response;
  response.status = status;
  response.content_type = "text/plain";
  response.body = std::move(body);
  return response;
}

// Answers every request with its decoded path.
void EchoPath(HttpRequest&& req, Responder respond) { respond(Text(req.path)); }

std::unique_ptr<HttpServer> StartServer(HttpHandler handler, HttpServerOptions options = {}) {
  options.listen = "127.0.0.1:0";
  auto server = std::make_unique<HttpServer>(std::move(options), std::move(handler));
  Status status = server->Start();
  EXPECT_TRUE(status.ok()) << status.ToString();
  return server;
}

// Checks an RFC 7807 body and returns it parsed.
boost::json::object ExpectProblem(const ClientResponse& response, int status) {
  EXPECT_EQ(response.status, status);
  EXPECT_EQ(response.Header("content-type"), "application/problem+json");
  boost::json::object problem = boost::json::parse(response.body).as_object();
  EXPECT_EQ(problem.at("type").as_string(), "about:blank");
  EXPECT_EQ(problem.at("status").as_int64(), status);
  EXPECT_FALSE(problem.at("title").as_string().empty());
  EXPECT_TRUE(problem.at("detail").is_string());
  EXPECT_TRUE(problem.at("errors").is_array());
  return problem;
}

TEST(HttpServerTest, RoundTripDecodesPathQueryAndHeaders) {
  std::promise<HttpRequest> seen;
  auto server = StartServer([&](HttpRequest&& req, Responder respond) {
    seen.set_value(req);
    HttpResponse response;
    response.status = 201;
    response.body = R"({"ok":true})";
    response.headers.emplace_back("X-Trace", "abc");
    respond(std::move(response));
  });
  Client client(server->port());
  client.Send(Get("/api/v1/tenants/acme/members/phone%3A138+0?q=a+b&name=%E4%B8%AD%E6%96%87&empty&x=1&x=2",
                  "X-Custom-Header: Val\r\n"));
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 201);
  EXPECT_EQ(response->body, R"({"ok":true})");
  EXPECT_EQ(response->Header("server"), "pond");
  EXPECT_EQ(response->Header("content-type"), "application/json");
  EXPECT_EQ(response->Header("content-length"), "11");
  EXPECT_EQ(response->Header("x-trace"), "abc");

  HttpRequest req = seen.get_future().get();
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.path, "/api/v1/tenants/acme/members/phone:138+0");  // '+' is literal in a path
  EXPECT_EQ(req.raw_path, "/api/v1/tenants/acme/members/phone%3A138+0");
  std::vector<std::pair<std::string, std::string>> want_query = {
      {"q", "a b"}, {"name", "中文"}, {"empty", ""}, {"x", "1"}, {"x", "2"}};
  EXPECT_EQ(req.query, want_query);
  ASSERT_NE(req.Query("x"), nullptr);
  EXPECT_EQ(*req.Query("x"), "1");
  EXPECT_EQ(req.Query("missing"), nullptr);
  ASSERT_NE(req.Header("x-custom-header"), nullptr);
  EXPECT_EQ(*req.Header("x-custom-header"), "Val");
  EXPECT_EQ(req.Header("X-Custom-Header"), nullptr);  // lookups use lower-case names
  EXPECT_EQ(req.remote_address, "127.0.0.1");
  EXPECT_TRUE(req.remote_is_loopback);
  EXPECT_TRUE(req.body.empty());
}

TEST(HttpServerTest, PostBodyReachesHandler) {
  auto server = StartServer([](HttpRequest&& req, Responder respond) { respond(Text(req.method + ":" + req.body)); });
  Client client(server->port());
  client.Send("POST /events HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello");
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->body, "POST:hello");
}

TEST(HttpServerTest, ExpectContinueGetsInterimResponse) {
  auto server = StartServer([](HttpRequest&& req, Responder respond) { respond(Text(req.body)); });
  Client client(server->port());
  client.Send("POST /events HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
  auto interim = client.Read();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  client.Send("abc");
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "abc");
}

TEST(HttpServerTest, KeepAliveServesSequentialRequestsOnOneConnection) {
  auto server = StartServer(EchoPath);
  Client client(server->port());
  for (std::string path : {"/one", "/two", "/three"}) {
    client.Send(Get(path));
    auto response = client.Read();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->body, path);
    EXPECT_NE(response->Header("connection"), "close");
  }
  client.Send(Get("/last", "Connection: close\r\n"));
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->body, "/last");
  EXPECT_EQ(response->Header("connection"), "close");
  EXPECT_TRUE(client.ServerClosed());
}

TEST(HttpServerTest, Http10ClosesAfterTheResponse) {
  auto server = StartServer(EchoPath);
  Client client(server->port());
  client.Send("GET /old HTTP/1.0\r\n\r\n");
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->version, "HTTP/1.0");
  EXPECT_EQ(response->body, "/old");
  EXPECT_TRUE(client.ServerClosed());
}

TEST(HttpServerTest, ResponderCalledLaterFromAnotherThread) {
  std::promise<Responder> handed_over;
  auto server = StartServer([&](HttpRequest&&, Responder respond) { handed_over.set_value(std::move(respond)); });
  Client client(server->port());
  client.Send(Get("/slow"));
  Responder respond = handed_over.get_future().get();  // the handler has returned without answering
  std::thread writer([respond = std::move(respond)] { respond(Text("committed", 202)); });
  auto response = client.Read();
  writer.join();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 202);
  EXPECT_EQ(response->body, "committed");
}

TEST(HttpServerTest, OnlyTheFirstResponseCounts) {
  std::atomic<int> calls{0};
  auto server = StartServer([&](HttpRequest&& req, Responder respond) {
    if (calls++ == 0) {
      respond(Text("first"));
      respond(Text("second"));  // ignored, must not answer the next request
    } else {
      respond(Text(req.path));
    }
  });
  Client client(server->port());
  client.Send(Get("/a"));
  auto first = client.Read();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->body, "first");
  client.Send(Get("/b"));
  auto next = client.Read();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->body, "/b");
}

TEST(HttpServerTest, BodyOverLimitIs413WithoutCallingTheHandler) {
  std::atomic<int> calls{0};
  HttpServerOptions options;
  options.max_body_bytes = 1024;
  auto server = StartServer(
      [&](HttpRequest&& req, Responder respond) {
        ++calls;
        EchoPath(std::move(req), std::move(respond));
      },
      options);
  {
    Client client(server->port());
    client.Send("POST /events HTTP/1.1\r\nHost: t\r\nContent-Length: 4096\r\n\r\n");
    auto response = client.Read();
    ASSERT_TRUE(response);
    ExpectProblem(*response, 413);
    EXPECT_EQ(response->Header("connection"), "close");
    EXPECT_TRUE(client.ServerClosed());
  }
  {
    // Chunked: the limit is only crossed while reading, and the client has
    // already sent the rest; it still gets its 413.
    Client client(server->port());
    client.Send("POST /events HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n7d0\r\n" +
                std::string(2000, 'x') + "\r\n0\r\n\r\n");
    auto response = client.Read();
    ASSERT_TRUE(response);
    ExpectProblem(*response, 413);
  }
  Client next(server->port());
  next.Send(Get("/still-here"));
  auto response = next.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->body, "/still-here");
  EXPECT_EQ(calls, 1);
}

TEST(HttpServerTest, HeadersOverLimitAre431) {
  HttpServerOptions options;
  options.max_header_bytes = 1024;
  auto server = StartServer(EchoPath, options);
  Client client(server->port());
  client.Send(Get("/", "X-Big: " + std::string(2000, 'a') + "\r\n"));
  auto response = client.Read();
  ASSERT_TRUE(response);
  ExpectProblem(*response, 431);
  EXPECT_TRUE(client.ServerClosed());
}

TEST(HttpServerTest, MalformedRequestIs400AndCloses) {
  auto server = StartServer(EchoPath);
  Client client(server->port());
  client.Send("THIS IS NOT HTTP\r\n\r\n");
  auto response = client.Read();
  ASSERT_TRUE(response);
  ExpectProblem(*response, 400);
  EXPECT_TRUE(client.ServerClosed());
}

TEST(HttpServerTest, TargetThatIsNotAPathIs400) {
  auto server = StartServer(EchoPath);
  Client client(server->port());
  client.Send(Get("*"));
  auto response = client.Read();
  ASSERT_TRUE(response);
  ExpectProblem(*response, 400);
}

TEST(HttpServerTest, BadPercentEncodingIs400NamingThePart) {
  auto server = StartServer(EchoPath);
  Client client(server->port());
  client.Send(Get("/members/a%zz"));
  auto path_response = client.Read();
  ASSERT_TRUE(path_response);
  auto problem = ExpectProblem(*path_response, 400);
  EXPECT_EQ(problem.at("errors").as_array().at(0).as_object().at("field").as_string(), "path");

  client.Send(Get("/members?name=%4"));  // the connection survives a request-level error
  auto query_response = client.Read();
  ASSERT_TRUE(query_response);
  problem = ExpectProblem(*query_response, 400);
  EXPECT_EQ(problem.at("errors").as_array().at(0).as_object().at("field").as_string(), "query");
}

TEST(HttpServerTest, ThrowingHandlerIs500AndServerSurvives) {
  auto server = StartServer([](HttpRequest&& req, Responder respond) {
    if (req.path == "/throw") throw std::runtime_error("boom");
    if (req.path == "/throw-int") throw 42;
    respond(Text("fine"));
  });
  Client client(server->port());
  for (std::string path : {"/throw", "/throw-int"}) {
    client.Send(Get(path));
    auto response = client.Read();
    ASSERT_TRUE(response);
    auto problem = ExpectProblem(*response, 500);
    EXPECT_EQ(problem.at("detail").as_string().find("boom"), std::string::npos);  // internals stay in the log
  }
  client.Send(Get("/ok"));
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->body, "fine");
}

TEST(HttpServerTest, DroppedResponderIs500) {
  auto server = StartServer([](HttpRequest&&, Responder) {});
  Client client(server->port());
  client.Send(Get("/forgotten"));
  auto response = client.Read();
  ASSERT_TRUE(response);
  ExpectProblem(*response, 500);
}

TEST(HttpServerTest, HandlerMistakesInTheResponseAreContained) {
  auto server = StartServer([](HttpRequest&& req, Responder respond) {
    HttpResponse response = Text("body", req.path == "/bad-status" ? 42 : 200);
    response.headers.emplace_back("X-Split", "a\r\nX-Injected: 1");
    response.headers.emplace_back("X-Fine", "yes");
    respond(std::move(response));
  });
  Client client(server->port());
  client.Send(Get("/bad-status"));
  auto bad = client.Read();
  ASSERT_TRUE(bad);
  ExpectProblem(*bad, 500);
  client.Send(Get("/headers"));
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->Header("x-fine"), "yes");
  EXPECT_EQ(response->Header("x-split"), "<absent>");
  EXPECT_EQ(response->Header("x-injected"), "<absent>");
}

TEST(HttpServerTest, TheFramingIsTheServersAndHeadAndNoContentAnswersHaveNoBody) {
  auto server = StartServer([](HttpRequest&& req, Responder respond) {
    HttpResponse response = Text("twelve bytes", req.path == "/none" ? 204 : 200);
    response.headers.emplace_back("Content-Length", "99");  // a handler's framing is dropped
    response.headers.emplace_back("Connection", "close");
    respond(std::move(response));
  });
  Client client(server->port());
  client.Send("HEAD /head HTTP/1.1\r\nHost: x\r\n\r\n");
  client.Send(Get("/none"));  // pipelined: a body left after either answer would be misread as the next
  client.Send(Get("/get"));
  for (const auto& [status, length, body, to_head] :
       {std::tuple{200, "12", "", true}, std::tuple{204, "<absent>", "", false},
        std::tuple{200, "12", "twelve bytes", false}}) {
    auto response = client.Read(to_head);
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, status);
    EXPECT_EQ(response->Header("content-length"), length);
    EXPECT_EQ(response->body, body);
    EXPECT_NE(response->Header("connection"), "close");
  }
}

TEST(HttpServerTest, ClientGoneBeforeTheResponseIsHarmless) {
  std::promise<Responder> handed_over;
  auto server = StartServer([&](HttpRequest&& req, Responder respond) {
    if (req.path == "/slow") return handed_over.set_value(std::move(respond));
    respond(Text(req.path));
  });
  {
    Client client(server->port());
    client.Send(Get("/slow"));
  }  // disconnects before the answer
  Responder respond = handed_over.get_future().get();
  std::thread writer([respond = std::move(respond)] { respond(Text("nobody listens")); });
  writer.join();
  Client next(server->port());
  next.Send(Get("/alive"));
  auto response = next.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->body, "/alive");
}

TEST(HttpServerTest, ResponderOutlivingTheServerIsHarmless) {
  std::promise<Responder> handed_over;
  auto server = StartServer([&](HttpRequest&&, Responder respond) { handed_over.set_value(std::move(respond)); });
  Client client(server->port());
  client.Send(Get("/slow"));
  Responder respond = handed_over.get_future().get();
  server.reset();  // stops: the pending request is dropped with its connection
  EXPECT_TRUE(client.ServerClosed());
  respond(Text("too late"));
}

TEST(HttpServerTest, IdleAndSlowClientsAreDisconnected) {
  HttpServerOptions options;
  options.idle_timeout = std::chrono::seconds(1);
  auto server = StartServer(EchoPath, options);
  Client idle(server->port());
  Client slowloris(server->port());
  slowloris.Send("GET / HTTP/1.1\r\nHost: t\r\n");  // headers never finish
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(idle.ServerClosed());
  EXPECT_TRUE(slowloris.ServerClosed());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));  // closed by the server, not SO_RCVTIMEO
}

TEST(HttpServerTest, ManyConcurrentClients) {
  auto server = StartServer(EchoPath);
  std::atomic<int> good{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 8; ++c) {
    clients.emplace_back([&, c] {
      Client client(server->port());
      for (int i = 0; i < 25; ++i) {
        std::string path = "/c" + std::to_string(c) + "/r" + std::to_string(i);
        client.Send(Get(path));
        auto response = client.Read();
        if (response && response->body == path) ++good;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(good, 8 * 25);
}

TEST(HttpServerTest, BadListenStringIsInvalidArgument) {
  for (std::string listen : {"", "nonsense", "127.0.0.1", "127.0.0.1:", "127.0.0.1:99999", "127.0.0.1:80x",
                             "example.com:80", "::1:80", "[::1:80", "[::1]80", "[127.0.0.1]:80"}) {
    HttpServerOptions options;
    options.listen = listen;
    HttpServer server(options, EchoPath);
    EXPECT_EQ(server.Start().code(), StatusCode::kInvalidArgument) << listen;
  }
}

TEST(HttpServerTest, PortInUseIsUnavailableNamingTheAddress) {
  auto first = StartServer(EchoPath);
  HttpServerOptions options;
  options.listen = first->address();
  HttpServer second(options, EchoPath);
  Status status = second.Start();
  EXPECT_EQ(status.code(), StatusCode::kUnavailable);
  EXPECT_NE(status.message().find(first->address()), std::string::npos) << status.message();
}

TEST(HttpServerTest, AddressReportsTheBoundPort) {
  auto server = StartServer(EchoPath);
  EXPECT_GT(server->port(), 0);
  EXPECT_EQ(server->address(), "127.0.0.1:" + std::to_string(server->port()));
}

TEST(HttpServerTest, Ipv6Loopback) {
  HttpServerOptions options;
  options.listen = "[::1]:0";
  HttpServer server(options, [](HttpRequest&& req, Responder respond) {
    respond(Text(req.remote_address + (req.remote_is_loopback ? " loopback" : "")));
  });
  if (!server.Start().ok()) GTEST_SKIP() << "no IPv6 loopback here";
  EXPECT_EQ(server.address(), "[::1]:" + std::to_string(server.port()));
  Client client(server.port(), true);
  client.Send(Get("/"));
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->body, "::1 loopback");
}

TEST(HttpServerTest, StopIsIdempotentAndFinal) {
  HttpServer never_started(HttpServerOptions{}, EchoPath);
  never_started.Stop();
  never_started.Stop();

  auto server = StartServer(EchoPath);
  int port = server->port();
  Client open_connection(port);
  server->Stop();
  server->Stop();
  EXPECT_TRUE(open_connection.ServerClosed());
  EXPECT_FALSE(Client(port).connected());
  EXPECT_EQ(server->Start().code(), StatusCode::kFailedPrecondition);
}

TEST(PercentDecodeTest, DecodesAndRejects) {
  EXPECT_EQ(PercentDecode("a%20b%2Fc", false), "a b/c");
  EXPECT_EQ(PercentDecode("%e4%B8%ad", false), "中");
  EXPECT_EQ(PercentDecode("a+b", false), "a+b");
  EXPECT_EQ(PercentDecode("a+b", true), "a b");
  EXPECT_EQ(PercentDecode("", true), "");
  for (std::string_view bad : {"%", "%4", "a%", "%zz", "%4g", "%%41"}) {
    EXPECT_EQ(PercentDecode(bad, false), std::nullopt) << bad;
  }
}

TEST(ProblemResponseTest, RendersRfc7807) {
  HttpResponse response = ProblemResponse(422, "Unprocessable", "two \"bad\" fields",
                                          {{"items[2].qty", "must be > 0"}, {"member", "required"}});
  EXPECT_EQ(response.status, 422);
  EXPECT_EQ(response.content_type, "application/problem+json");
  boost::json::object problem = boost::json::parse(response.body).as_object();
  EXPECT_EQ(problem.at("type").as_string(), "about:blank");
  EXPECT_EQ(problem.at("title").as_string(), "Unprocessable");
  EXPECT_EQ(problem.at("status").as_int64(), 422);
  EXPECT_EQ(problem.at("detail").as_string(), "two \"bad\" fields");
  const auto& errors = problem.at("errors").as_array();
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].as_object().at("field").as_string(), "items[2].qty");
  EXPECT_EQ(errors[0].as_object().at("reason").as_string(), "must be > 0");
  EXPECT_EQ(errors[1].as_object().at("field").as_string(), "member");

  EXPECT_TRUE(boost::json::parse(ProblemResponse(404, "Not Found", "x").body).at("errors").as_array().empty());
}

}  // namespace
}  // namespace pond
