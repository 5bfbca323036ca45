// MCP over Streamable HTTP (spec 2025-11-25, basic/transports), on cpp-httplib.
//
// One endpoint, /mcp: POST carries one JSON-RPC message (or a 2025-03-26
// batch); the answer is `application/json`, or `text/event-stream` when the
// request streams progress, log messages or server-to-client requests before
// its response. GET opens the session's stream for messages tied to no
// request; DELETE ends the session. Sessions are named by Mcp-Session-Id.
//
// Security: binds 127.0.0.1 by default; rejects foreign Origin and, on a
// loopback bind, non-loopback Host headers (DNS rebinding) with 403; with a
// bearer token configured, every request must carry it (401 otherwise). A
// non-loopback bind without a token is refused at start.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "mcp_server/server.h"

namespace hpc::mcp {

struct HttpOptions {
  std::string host = "127.0.0.1";
  int port = 8765;            // 0 picks a free port.
  std::string port_file;      // When set, the bound port is written here.
  std::string auth_token;     // Empty: no authentication (loopback only).
  std::vector<std::string> allowed_origins;  // Besides loopback origins.
  size_t max_body_bytes = 4 << 20;
  std::chrono::seconds session_idle_timeout{1800};
  size_t max_sessions = 1024;
  size_t max_threads = 256;   // Connections served at once.
  std::chrono::seconds keepalive_interval{15};  // SSE comment lines.
  int stop_fd = -1;           // Readable means: stop now.
};

// Whether `host` names this machine only (127.0.0.0/8, ::1, localhost).
bool IsLoopbackHost(const std::string& host);

// Serves until stopped. Returns the process exit code.
int ServeHttp(Server& server, const HttpOptions& options);

}  // namespace hpc::mcp
