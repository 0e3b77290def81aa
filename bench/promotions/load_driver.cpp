#include "load_driver.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

namespace pond::bench {
namespace {

using Clock = std::chrono::steady_clock;

// One keep-alive connection and the request it has in flight.
struct Connection {
  int fd = -1;
  bool busy = false;        // a request is in flight
  bool want_write = false;  // registered for EPOLLOUT: the request did not fit the socket buffer
  size_t request = 0;
  Clock::time_point sent_at;
  std::string out;  // the request's bytes
  size_t written = 0;
  std::string in;  // the reply's bytes so far
};

std::string Errno(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

// A blocking connect (loopback answers at once), then non-blocking I/O.
int Connect(const Endpoint& endpoint, std::string& error) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(endpoint.port));
  if (inet_pton(AF_INET, endpoint.host.c_str(), &address.sin_addr) != 1) {
    error = "not an IPv4 address: " + endpoint.host;
    return -1;
  }
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = Errno("socket");
    return -1;
  }
  if (connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    error = Errno(("connect to " + endpoint.host + ":" + std::to_string(endpoint.port)).c_str());
    close(fd);
    return -1;
  }
  // Requests are small and each waits for its answer: Nagle would hold them.
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const int flags = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  return fd;
}

class Run {
 public:
  Run(const LoadOptions& options, size_t count, const RequestBuilder& build, const ReplyHandler& on_reply)
      : options_(options), count_(count), build_(build), on_reply_(on_reply) {}

  LoadResult Go() {
    result_.latencies_ns.reserve(count_);
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_ < 0) return Stop(Errno("epoll_create1"));
    const size_t wanted = std::min(count_, static_cast<size_t>(std::max(1, options_.connections)));
    connections_.resize(wanted);
    for (Connection& c : connections_) {
      c.fd = Connect(options_.endpoint, result_.error);
      if (c.fd < 0) return Stop(result_.error);
      epoll_event event{};
      event.events = EPOLLIN;
      event.data.ptr = &c;
      if (epoll_ctl(epoll_, EPOLL_CTL_ADD, c.fd, &event) != 0) return Stop(Errno("epoll_ctl"));
    }
    started_ = last_reply_ = Clock::now();
    for (Connection& c : connections_) {
      if (!Send(c)) return Stop(result_.error);
    }
    epoll_event events[256];
    while (result_.answered < count_) {
      const auto left = options_.deadline - Clock::now();
      if (left <= Clock::duration::zero()) {
        return Stop("deadline reached with " + std::to_string(result_.answered) + " of " + std::to_string(count_) +
                    " requests answered");
      }
      const int wait_ms = static_cast<int>(
          std::min<int64_t>(100, std::chrono::duration_cast<std::chrono::milliseconds>(left).count() + 1));
      const int n = epoll_wait(epoll_, events, 256, wait_ms);
      if (n < 0 && errno != EINTR) return Stop(Errno("epoll_wait"));
      for (int i = 0; i < n; ++i) {
        Connection& c = *static_cast<Connection*>(events[i].data.ptr);
        if ((events[i].events & EPOLLOUT) && !Flush(c)) return Stop(result_.error);
        if ((events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !Receive(c)) return Stop(result_.error);
      }
    }
    return Stop({});
  }

 private:
  // Takes the next request index, if any is left, and starts writing it.
  bool Send(Connection& c) {
    if (next_ >= count_) {
      c.busy = false;
      return true;
    }
    c.busy = true;
    c.request = next_++;
    c.out.clear();
    c.written = 0;
    c.in.clear();
    build_(c.request, c.out);
    c.sent_at = Clock::now();
    return Flush(c);
  }

  bool Flush(Connection& c) {
    while (c.written < c.out.size()) {
      const ssize_t n = send(c.fd, c.out.data() + c.written, c.out.size() - c.written, MSG_NOSIGNAL);
      if (n > 0) {
        c.written += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Watch(c, true);
      result_.error = Errno("send");
      return false;
    }
    return Watch(c, false);
  }

  bool Watch(Connection& c, bool write) {
    if (c.want_write == write) return true;
    c.want_write = write;
    epoll_event event{};
    event.events = EPOLLIN | (write ? EPOLLOUT : 0u);
    event.data.ptr = &c;
    if (epoll_ctl(epoll_, EPOLL_CTL_MOD, c.fd, &event) == 0) return true;
    result_.error = Errno("epoll_ctl");
    return false;
  }

  bool Receive(Connection& c) {
    char buffer[64 << 10];
    for (;;) {
      const ssize_t n = recv(c.fd, buffer, sizeof buffer, 0);
      if (n > 0) {
        c.in.append(buffer, static_cast<size_t>(n));
        continue;
      }
      if (n == 0) {
        result_.error = "the server closed a connection" +
                        (c.busy ? " with request " + std::to_string(c.request) + " unanswered" : std::string());
        return false;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      result_.error = Errno("recv");
      return false;
    }
    if (!c.busy) {
      result_.error = "bytes from the server while no request was in flight";
      return false;
    }
    Parsed parsed = ParseReply(options_.wire, c.in, reply_);
    if (parsed.outcome == Parsed::kPartial) return true;
    if (parsed.outcome == Parsed::kMalformed) {
      result_.error = "malformed reply to request " + std::to_string(c.request) + ": " + parsed.error;
      return false;
    }
    if (parsed.consumed != c.in.size()) {
      result_.error = "more than one reply to request " + std::to_string(c.request);
      return false;
    }
    last_reply_ = Clock::now();
    result_.latencies_ns.push_back(
        std::chrono::duration_cast<std::chrono::nanoseconds>(last_reply_ - c.sent_at).count());
    ++result_.answered;
    on_reply_(c.request, reply_);
    return Send(c);
  }

  LoadResult Stop(std::string error) {
    for (Connection& c : connections_) {
      if (c.fd >= 0) close(c.fd);
    }
    if (epoll_ >= 0) close(epoll_);
    result_.error = std::move(error);
    result_.seconds = std::chrono::duration<double>(last_reply_ - started_).count();
    std::sort(result_.latencies_ns.begin(), result_.latencies_ns.end());
    return std::move(result_);
  }

  const LoadOptions& options_;
  const size_t count_;
  const RequestBuilder& build_;
  const ReplyHandler& on_reply_;
  int epoll_ = -1;
  std::vector<Connection> connections_;  // not resized after epoll holds pointers into it
  size_t next_ = 0;
  Reply reply_;  // reused: its vector keeps its capacity
  Clock::time_point started_, last_reply_;
  LoadResult result_;
};

}  // namespace

double LoadResult::RequestsPerSecond() const { return seconds > 0 ? static_cast<double>(answered) / seconds : 0; }

double LoadResult::PercentileMs(double p) const {
  if (latencies_ns.empty()) return 0;
  const size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(latencies_ns.size())));
  return static_cast<double>(latencies_ns[std::clamp<size_t>(rank, 1, latencies_ns.size()) - 1]) / 1e6;
}

double LoadResult::MaxMs() const { return latencies_ns.empty() ? 0 : static_cast<double>(latencies_ns.back()) / 1e6; }

LoadResult Drive(const LoadOptions& options, size_t count, const RequestBuilder& build, const ReplyHandler& on_reply) {
  if (count == 0) return {};
  return Run(options, count, build, on_reply).Go();
}

OwnedReply Call(const Endpoint& endpoint, Wire wire, std::string request,
                std::chrono::steady_clock::time_point deadline) {
  OwnedReply owned;
  const LoadOptions options{.endpoint = endpoint, .wire = wire, .connections = 1, .deadline = deadline};
  LoadResult result = Drive(
      options, 1, [&](size_t, std::string& out) { out += request; },
      [&](size_t, const Reply& reply) {
        owned.status = reply.status;
        owned.body = std::string(reply.body);
        owned.type = reply.type;
        for (std::string_view v : reply.values) owned.values.emplace_back(v);
      });
  owned.error = std::move(result.error);
  return owned;
}

}  // namespace pond::bench
