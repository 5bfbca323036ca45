// A minimal HTTP/1.1 keep-alive client connection over a raw TCP socket.
// Raw sockets keep the driver's per-call cost small (one write, one read per
// call) so that it does not cap what it measures. It parses exactly what the
// benchmark needs: status, Content-Type, Mcp-Session-Id, and a body framed by
// Content-Length or chunked encoding. A response framed by connection close
// is reported as an error: it would break keep-alive. A connection the server
// closed while idle (keep-alive timeout) or announced closing
// ("Connection: close") is reopened by the caller; the MCP session, being
// carried by a header, survives that.

#ifndef HPC_MCP_BENCH_HTTP_CONN_H_
#define HPC_MCP_BENCH_HTTP_CONN_H_

#include <netinet/in.h>

#include <functional>
#include <string>
#include <string_view>

#include "bench_util.h"

namespace mcp_bench {

struct HttpResponse {
  int status = 0;
  std::string content_type;  // media type only, lower case
  std::string session_id;    // Mcp-Session-Id, if sent
  std::string body;          // de-chunked
  bool close = false;        // "Connection: close": reopen before reuse
};

class HttpConn {
 public:
  enum class Status { kDone, kMore, kError };

  HttpConn() = default;
  HttpConn(const HttpConn&) = delete;
  HttpConn& operator=(const HttpConn&) = delete;
  ~HttpConn();

  bool Connect(const sockaddr_in& addr, const Deadline& deadline,
               std::string* error);
  // Closes and connects again (drops any unread input).
  bool Reconnect(const sockaddr_in& addr, const Deadline& deadline,
                 std::string* error);
  // True if the server has closed this idle connection (EOF or reset
  // pending); only meaningful when no response is expected.
  bool PeerClosed() const;
  int fd() const { return fd_; }
  // Writes everything, waiting for the socket when needed.
  bool WriteAll(std::string_view bytes, const Deadline& deadline,
                std::string* error);
  // Reads what the socket has; kDone once a whole response is in *resp.
  Status ReadSome(HttpResponse* resp, std::string* error);
  // Waits for one whole response.
  bool ReadResponse(HttpResponse* resp, const Deadline& deadline,
                    std::string* error);

 private:
  Status TryParse(HttpResponse* resp, std::string* error);

  int fd_ = -1;
  ByteBuffer in_;
};

// Calls f(data) for each SSE event with data in a text/event-stream body
// (data lines joined with '\n'); stops early when f returns false.
void ForEachSseEvent(std::string_view body,
                     const std::function<bool(std::string_view)>& f);

}  // namespace mcp_bench

#endif  // HPC_MCP_BENCH_HTTP_CONN_H_
