// limit_server: a do-nothing MCP server that measures the ceiling of the
// benchmark itself (driver + kernel + transport) on this machine. It parses
// no JSON: it finds the id and the method by scanning the bytes and answers
// with fixed, well-formed replies shaped like the TypeScript SDK's. Every
// reply to one read() goes out in one write().
//
//   limit_server --stdio
//   limit_server --http --port N [--port-file PATH]    (127.0.0.1, /any path)
//
// HTTP: single-threaded epoll, HTTP/1.1 keep-alive, application/json bodies.
// Only the requests mcp_bench sends are understood; it is not a server.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

namespace {

constexpr std::string_view kCallPrefix =
    R"({"result":{"content":[{"type":"text","text":"This is a simple text )"
    R"(response for testing."}]},"jsonrpc":"2.0","id":)";
constexpr std::string_view kInitPrefix =
    R"({"result":{"protocolVersion":"2025-11-25","capabilities":{"tools":)"
    R"({"listChanged":true}},"serverInfo":{"name":"limit-server","version":)"
    R"("1.0.0"}},"jsonrpc":"2.0","id":)";
constexpr std::string_view kListPrefix =
    R"({"result":{"tools":[{"name":"test_simple_text","description":"Tests )"
    R"(simple text content response","inputSchema":{"type":"object",)"
    R"("properties":{}}}]},"jsonrpc":"2.0","id":)";
constexpr std::string_view kEmptyPrefix =
    R"({"result":{},"jsonrpc":"2.0","id":)";

// The raw id token of a JSON-RPC message (number or string, as written),
// or empty for a notification. Scans for the first `"id":` member.
std::string_view FindId(std::string_view msg) {
  size_t pos = msg.find("\"id\"");
  if (pos == std::string_view::npos) return {};
  pos = msg.find_first_not_of(" \t", pos + 4);
  if (pos == std::string_view::npos || msg[pos] != ':') return {};
  pos = msg.find_first_not_of(" \t", pos + 1);
  if (pos == std::string_view::npos) return {};
  size_t end = pos;
  if (msg[pos] == '"') {
    for (++end; end < msg.size() && msg[end] != '"'; ++end) {
      if (msg[end] == '\\') ++end;
    }
    ++end;
  } else {
    while (end < msg.size() && msg[end] != ',' && msg[end] != '}' &&
           msg[end] != ' ') {
      ++end;
    }
  }
  return msg.substr(pos, std::min(end, msg.size()) - pos);
}

// Appends the reply to one message (nothing for a notification).
void AppendReply(std::string_view msg, std::string* out) {
  std::string_view id = FindId(msg);
  if (id.empty()) return;
  std::string_view prefix = kCallPrefix;
  if (msg.find("\"tools/call\"") == std::string_view::npos) {
    if (msg.find("\"initialize\"") != std::string_view::npos) {
      prefix = kInitPrefix;
    } else if (msg.find("\"tools/list\"") != std::string_view::npos) {
      prefix = kListPrefix;
    } else {
      prefix = kEmptyPrefix;  // ping and anything else
    }
  }
  out->append(prefix);
  out->append(id);
  out->push_back('}');
}

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(n);
  }
  return true;
}

int RunStdio() {
  std::unique_ptr<char[]> buf(new char[1 << 20]);
  size_t have = 0;
  std::string out;
  for (;;) {
    if (have == (1 << 20)) return 1;  // a line over 1 MiB: not our client
    ssize_t n = read(STDIN_FILENO, buf.get() + have, (1 << 20) - have);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return 0;  // EOF: the client is done
    have += n;
    out.clear();
    size_t start = 0;
    for (size_t nl;
         (nl = std::string_view(buf.get(), have).find('\n', start)) !=
         std::string_view::npos;
         start = nl + 1) {
      size_t before = out.size();
      AppendReply(std::string_view(buf.get() + start, nl - start), &out);
      if (out.size() != before) out.push_back('\n');
    }
    memmove(buf.get(), buf.get() + start, have - start);
    have -= start;
    if (!out.empty() && !WriteAll(STDOUT_FILENO, out)) return 1;
  }
}

struct Conn {
  std::string in, out;
  size_t out_pos = 0;
};

// Handles every complete request in c->in; appends responses to c->out.
// Returns false on a request it cannot frame (the connection is dropped).
bool ServeRequests(Conn* c) {
  size_t start = 0;
  std::string body_reply;
  for (;;) {
    std::string_view data(c->in);
    data.remove_prefix(start);
    size_t head_end = data.find("\r\n\r\n");
    if (head_end == std::string_view::npos) break;
    std::string_view head = data.substr(0, head_end);
    size_t length = 0;
    for (size_t pos = 0;
         (pos = head.find("\r\n", pos)) != std::string_view::npos;) {
      pos += 2;
      if (strncasecmp(head.data() + pos, "content-length:", 15) == 0) {
        length = strtoul(head.data() + pos + 15, nullptr, 10);
      }
    }
    if (data.size() < head_end + 4 + length) break;
    std::string_view body = data.substr(head_end + 4, length);
    start += head_end + 4 + length;

    if (head.compare(0, 5, "POST ") != 0) {
      // DELETE ends a session (there is none to end); GET streams: no.
      c->out +=
          head.compare(0, 7, "DELETE ") == 0
              ? "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
              : "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n";
      continue;
    }
    body_reply.clear();
    AppendReply(body, &body_reply);
    if (body_reply.empty()) {
      c->out += "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n";
      continue;
    }
    c->out += "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n";
    if (body.find("\"initialize\"") != std::string_view::npos) {
      c->out += "Mcp-Session-Id: limit-session\r\n";
    }
    c->out +=
        "Content-Length: " + std::to_string(body_reply.size()) + "\r\n\r\n";
    c->out += body_reply;
  }
  c->in.erase(0, start);
  return c->in.size() < (1 << 20);
}

int RunHttp(int port, const char* port_file) {
  signal(SIGPIPE, SIG_IGN);
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(lfd, 128) != 0 ||
      getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    fprintf(stderr, "limit_server: cannot listen: %s\n", strerror(errno));
    return 1;
  }
  if (port_file != nullptr) {
    // Written once listening, via rename so a reader never sees half a file.
    std::string tmp =
        std::string(port_file) + ".tmp" + std::to_string(getpid());
    FILE* f = fopen(tmp.c_str(), "w");
    if (f == nullptr) return 1;
    fprintf(f, "%d\n", ntohs(addr.sin_port));
    fclose(f);
    if (rename(tmp.c_str(), port_file) != 0) return 1;
  }
  int ep = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = lfd;
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  std::unordered_map<int, Conn> conns;
  std::unique_ptr<char[]> buf(new char[256 * 1024]);
  auto drop = [&](int fd) {
    epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
    close(fd);
    conns.erase(fd);
  };
  epoll_event events[64];
  for (;;) {
    int n = epoll_wait(ep, events, 64, -1);
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == lfd) {
        int cfd;
        while ((cfd = accept4(lfd, nullptr, nullptr,
                              SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
          setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          epoll_event cev{};
          cev.events = EPOLLIN;
          cev.data.fd = cfd;
          epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &cev);
          conns[cfd];
        }
        continue;
      }
      Conn& c = conns[fd];
      if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        ssize_t r = read(fd, buf.get(), 256 * 1024);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
          drop(fd);
          continue;
        }
        if (r > 0) {
          c.in.append(buf.get(), r);
          if (!ServeRequests(&c)) {
            drop(fd);
            continue;
          }
        }
      }
      while (c.out_pos < c.out.size()) {
        ssize_t w =
            write(fd, c.out.data() + c.out_pos, c.out.size() - c.out_pos);
        if (w <= 0) break;
        c.out_pos += w;
      }
      if (c.out_pos == c.out.size()) {
        c.out.clear();
        c.out_pos = 0;
      }
      // Wait for writability only while output is pending.
      epoll_event mod{};
      mod.events =
          EPOLLIN | (c.out.empty() ? 0u : static_cast<uint32_t>(EPOLLOUT));
      mod.data.fd = fd;
      if (!c.out.empty() || (events[i].events & EPOLLOUT)) {
        epoll_ctl(ep, EPOLL_CTL_MOD, fd, &mod);
      }
    }
  }
}

[[noreturn]] void Usage() {
  fprintf(stderr,
          "usage: limit_server --stdio\n"
          "       limit_server --http [--port] N [--port-file PATH]\n");
  exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  bool stdio = false, http = false;
  int port = -1;
  const char* port_file = nullptr;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--stdio") {
      stdio = true;
    } else if (a == "--http") {
      http = true;
      if (i + 1 < argc && argv[i + 1][0] >= '0' && argv[i + 1][0] <= '9') {
        port = atoi(argv[++i]);
      }
    } else if (a == "--port" && i + 1 < argc) {
      port = atoi(argv[++i]);
    } else if (a == "--port-file" && i + 1 < argc) {
      port_file = argv[++i];
    } else {
      Usage();
    }
  }
  if (stdio == http) Usage();
  if (stdio) return RunStdio();
  if (port < 0 || port > 65535) Usage();
  return RunHttp(port, port_file);
}
