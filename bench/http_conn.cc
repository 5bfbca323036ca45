#include "http_conn.h"

#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace mcp_bench {
namespace {

constexpr size_t kMaxHeaderBytes = 64 * 1024;

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if ((a[i] | 0x20) != (b[i] | 0x20)) return false;  // ASCII letters/-
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return out;
}

// Decodes a chunked body starting at `pos`. Returns the offset just past the
// terminating chunk and trailers, 0 if incomplete, or npos on bad framing.
size_t DecodeChunked(std::string_view data, size_t pos, std::string* body) {
  body->clear();
  for (;;) {
    size_t eol = data.find("\r\n", pos);
    if (eol == std::string_view::npos) return 0;
    size_t size = 0, i = pos;
    for (; i < eol; ++i) {
      char c = data[i];
      int digit = c >= '0' && c <= '9'   ? c - '0'
                  : c >= 'a' && c <= 'f' ? c - 'a' + 10
                  : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                         : -1;
      if (digit < 0) break;
      size = size * 16 + digit;
      if (size > (1u << 30)) return std::string_view::npos;
    }
    if (i == pos || (i < eol && data[i] != ';' && data[i] != ' ')) {
      return std::string_view::npos;
    }
    pos = eol + 2;
    if (size == 0) {
      // No trailers: "\r\n" follows; otherwise trailer lines end in a blank.
      if (data.size() < pos + 2) return 0;
      if (data.compare(pos, 2, "\r\n") == 0) return pos + 2;
      size_t end = data.find("\r\n\r\n", pos);
      return end == std::string_view::npos ? 0 : end + 4;
    }
    if (data.size() < pos + size + 2) return 0;
    if (data.compare(pos + size, 2, "\r\n") != 0) {
      return std::string_view::npos;
    }
    body->append(data.data() + pos, size);
    pos += size + 2;
  }
}

}  // namespace

HttpConn::~HttpConn() {
  if (fd_ >= 0) close(fd_);
}

bool HttpConn::Reconnect(const sockaddr_in& addr, const Deadline& deadline,
                         std::string* error) {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  in_.Consume(in_.size());
  return Connect(addr, deadline, error);
}

bool HttpConn::PeerClosed() const {
  pollfd p = {fd_, POLLIN | POLLRDHUP, 0};
  if (poll(&p, 1, 0) <= 0) return false;
  if (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) return true;
  char c;
  return recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT) <= 0;
}

bool HttpConn::Connect(const sockaddr_in& addr, const Deadline& deadline,
                       std::string* error) {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    *error = std::string("socket: ") + strerror(errno);
    return false;
  }
  int one = 1;
  // Each request goes out in one write(); do not let Nagle hold it back.
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) ==
      0) {
    return true;
  }
  if (errno != EINPROGRESS) {
    *error = std::string("connect: ") + strerror(errno);
    return false;
  }
  while (!deadline.Passed()) {
    pollfd p = {fd_, POLLOUT, 0};
    if (poll(&p, 1, deadline.PollTimeoutMs()) <= 0) continue;
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err == 0) return true;
    *error = std::string("connect: ") + strerror(err);
    return false;
  }
  *error = "connect: deadline passed";
  return false;
}

bool HttpConn::WriteAll(std::string_view bytes, const Deadline& deadline,
                        std::string* error) {
  while (!bytes.empty()) {
    ssize_t n = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(n);
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
      *error = std::string("send: ") + strerror(errno);
      return false;
    }
    if (deadline.Passed()) {
      *error = "send: deadline passed";
      return false;
    }
    pollfd p = {fd_, POLLOUT, 0};
    poll(&p, 1, deadline.PollTimeoutMs());
  }
  return true;
}

HttpConn::Status HttpConn::ReadSome(HttpResponse* resp, std::string* error) {
  constexpr size_t kChunk = 64 * 1024;
  ssize_t n = recv(fd_, in_.Reserve(kChunk), kChunk, 0);
  if (n > 0) {
    in_.Commit(n);
  } else if (n == 0) {
    *error = "server closed the connection";
    return Status::kError;
  } else if (errno != EAGAIN && errno != EINTR) {
    *error = std::string("recv: ") + strerror(errno);
    return Status::kError;
  }
  return TryParse(resp, error);
}

bool HttpConn::ReadResponse(HttpResponse* resp, const Deadline& deadline,
                            std::string* error) {
  for (;;) {
    Status s = TryParse(resp, error);
    if (s == Status::kDone) return true;
    if (s == Status::kError) return false;
    if (deadline.Passed()) {
      *error = "deadline passed waiting for an HTTP response";
      return false;
    }
    pollfd p = {fd_, POLLIN, 0};
    if (poll(&p, 1, deadline.PollTimeoutMs()) <= 0) continue;
    s = ReadSome(resp, error);
    if (s == Status::kDone) return true;
    if (s == Status::kError) return false;
  }
}

HttpConn::Status HttpConn::TryParse(HttpResponse* resp, std::string* error) {
  for (;;) {
    std::string_view data = in_.View();
    size_t head_end = data.find("\r\n\r\n");
    if (head_end == std::string_view::npos) {
      if (data.size() > kMaxHeaderBytes) {
        *error = "HTTP response header too large";
        return Status::kError;
      }
      return Status::kMore;
    }
    std::string_view head = data.substr(0, head_end);
    if (head.size() < 12 || head.compare(0, 7, "HTTP/1.") != 0 ||
        head[8] != ' ') {
      *error = "bad HTTP status line: " + std::string(head.substr(0, 80));
      return Status::kError;
    }
    resp->status =
        (head[9] - '0') * 100 + (head[10] - '0') * 10 + (head[11] - '0');
    resp->content_type.clear();
    resp->session_id.clear();
    resp->close = head.compare(5, 3, "1.0") == 0;  // 1.0: close by default
    long long content_length = -1;
    bool chunked = false;
    for (size_t pos = head.find("\r\n"); pos != std::string_view::npos;) {
      size_t start = pos + 2;
      size_t next = head.find("\r\n", start);
      std::string_view line = head.substr(start, next == std::string_view::npos
                                                     ? std::string_view::npos
                                                     : next - start);
      pos = next;
      size_t colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      std::string_view name = line.substr(0, colon);
      std::string_view value = Trim(line.substr(colon + 1));
      if (IEquals(name, "content-length")) {
        content_length = 0;
        for (char c : value) {
          if (c < '0' || c > '9' || content_length > (1LL << 40)) {
            *error = "bad Content-Length: " + std::string(value);
            return Status::kError;
          }
          content_length = content_length * 10 + (c - '0');
        }
      } else if (IEquals(name, "transfer-encoding")) {
        chunked = Lower(value).find("chunked") != std::string::npos;
      } else if (IEquals(name, "content-type")) {
        resp->content_type = Lower(Trim(value.substr(0, value.find(';'))));
      } else if (IEquals(name, "connection")) {
        resp->close = Lower(value).find("close") != std::string::npos;
      } else if (IEquals(name, "mcp-session-id")) {
        resp->session_id = std::string(value);
      }
    }
    const size_t body_start = head_end + 4;
    if (resp->status >= 100 && resp->status < 200) {  // interim: skip
      in_.Consume(body_start);
      continue;
    }
    size_t end;
    if (chunked) {
      end = DecodeChunked(data, body_start, &resp->body);
      if (end == std::string_view::npos) {
        *error = "bad chunked encoding";
        return Status::kError;
      }
      if (end == 0) return Status::kMore;
    } else if (content_length >= 0) {
      end = body_start + static_cast<size_t>(content_length);
      if (data.size() < end) return Status::kMore;
      resp->body.assign(data.data() + body_start, content_length);
    } else if (resp->status == 204 || resp->status == 304) {
      end = body_start;
      resp->body.clear();
    } else {
      *error = "HTTP " + std::to_string(resp->status) +
               " response has neither Content-Length nor chunked framing "
               "(close-delimited bodies break keep-alive)";
      return Status::kError;
    }
    in_.Consume(end);
    return Status::kDone;
  }
}

void ForEachSseEvent(std::string_view body,
                     const std::function<bool(std::string_view)>& f) {
  std::string data;
  bool has_data = false;
  size_t pos = 0;
  while (pos <= body.size()) {
    // Lines end in "\r\n", "\n" or "\r"; the end of the body ends an event.
    size_t eol = body.find_first_of("\r\n", pos);
    bool at_end = eol == std::string_view::npos;
    std::string_view line =
        body.substr(pos, at_end ? body.size() - pos : eol - pos);
    if (line.empty()) {
      // Per the SSE spec an event whose data is empty is not dispatched
      // (e.g. a resumability priming event).
      if (has_data && !data.empty() && !f(data)) return;
      data.clear();
      has_data = false;
    } else if (line.compare(0, 5, "data:") == 0) {
      std::string_view v = line.substr(5);
      if (!v.empty() && v.front() == ' ') v.remove_prefix(1);
      if (has_data) data += '\n';
      data.append(v);
      has_data = true;
    }  // event:, id:, retry: and ":" comments do not matter here
    if (at_end) {
      if (has_data && !data.empty()) f(data);
      return;
    }
    pos = eol + (body.compare(eol, 2, "\r\n") == 0 ? 2 : 1);
  }
}

}  // namespace mcp_bench
