// Streamable HTTP helpers for integration tests: starts a server process on a
// free loopback port (--port 0 --port-file), and a minimal MCP client on
// cpp-httplib that keeps the session id and protocol version headers and
// decodes JSON and SSE answers.
//
// Header-only because the test build globs only *_test.cc files.
#pragma once

#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/modern.h"
#include "tests/support/subprocess.h"

namespace hpc::testing {

using json = nlohmann::json;

inline constexpr const char* kLoopback = "127.0.0.1";
inline constexpr const char* kMcpPath = "/mcp";
inline constexpr const char* kBothTypes = "application/json, text/event-stream";

// A server process listening on a port the kernel picked.
class HttpServer {
 public:
  // Starts `binary --http --port 0 --port-file F args...` and waits up to
  // `timeout` for F to name the port. ready() tells whether that worked;
  // error() says why not.
  explicit HttpServer(
      const std::string& binary, std::vector<std::string> args = {},
      std::chrono::milliseconds timeout = std::chrono::seconds(10))
      : port_file_(dir_.path() / "port"),
        process_(Argv(binary, port_file_.string(), std::move(args))) {
    if (!process_.started()) {
      error_ = "cannot spawn " + binary;
      return;
    }
    auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      // The server writes the file under another name and renames it, so a
      // file that exists is complete.
      std::ifstream in(port_file_);
      if (in >> port_ && port_ > 0) return;
      port_ = 0;
      if (auto code = process_.Wait(std::chrono::milliseconds(0))) {
        error_ = "server exited with " + std::to_string(*code) +
                 " before listening; stderr: " +
                 process_.Stderr(std::chrono::milliseconds(1000));
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    error_ = "no port file within the deadline; stderr: " + process_.Stderr();
  }

  bool ready() const { return port_ > 0; }
  const std::string& error() const { return error_; }
  int port() const { return port_; }
  Subprocess& process() { return process_; }
  TempDir& dir() { return dir_; }

 private:
  static std::vector<std::string> Argv(const std::string& binary,
                                       const std::string& port_file,
                                       std::vector<std::string> args) {
    std::vector<std::string> argv = {binary,        "--http", "--host",
                                     kLoopback,     "--port", "0",
                                     "--port-file", port_file};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  TempDir dir_;
  std::filesystem::path port_file_;
  Subprocess process_;
  int port_ = 0;
  std::string error_;
};

// One HTTP answer, decoded.
struct McpReply {
  int status = -1;  // -1: no HTTP response at all (see error).
  std::string error;
  httplib::Headers headers;
  std::string body;
  // The JSON body, or the data of each SSE event, in order.
  std::vector<json> messages;

  std::string Header(const std::string& name) const {
    auto it = headers.find(name);  // httplib compares names case-blind.
    return it == headers.end() ? "" : it->second;
  }
  std::string content_type() const { return Header("Content-Type"); }
  bool is_sse() const {
    return content_type().rfind("text/event-stream", 0) == 0;
  }
  // The one JSON body (or json() when the answer was not JSON).
  json Json() const { return messages.size() == 1 ? messages[0] : json(); }
  // The last message that is a JSON-RPC response (or json()).
  json Response() const {
    for (auto it = messages.rbegin(); it != messages.rend(); ++it)
      if (it->is_object() && !it->contains("method") &&
          (it->contains("result") || it->contains("error")))
        return *it;
    return json();
  }
};

// Splits an SSE body into the JSON of its events' data.
inline std::vector<json> ParseSse(const std::string& body) {
  std::vector<json> out;
  std::string data;
  size_t pos = 0;
  auto flush = [&] {
    if (!data.empty())
      out.push_back(json::parse(data, nullptr, /*allow_exceptions=*/false));
    data.clear();
  };
  while (pos < body.size()) {
    size_t nl = body.find('\n', pos);
    std::string line = body.substr(
        pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? body.size() : nl + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) {
      flush();
    } else if (line.rfind("data:", 0) == 0) {
      std::string value = line.substr(5);
      if (!value.empty() && value[0] == ' ') value.erase(0, 1);
      if (!data.empty()) data += "\n";
      data += value;
    }
  }
  flush();
  return out;
}

inline McpReply Decode(const httplib::Result& r) {
  McpReply out;
  if (!r) {
    out.error = httplib::to_string(r.error());
    return out;
  }
  out.status = r->status;
  out.headers = r->headers;
  out.body = r->body;
  if (out.is_sse()) {
    out.messages = ParseSse(out.body);
  } else if (!out.body.empty()) {
    out.messages.push_back(
        json::parse(out.body, nullptr, /*allow_exceptions=*/false));
  }
  return out;
}

// The headers a modern POST mirrors from its body (SEP-2243):
// MCP-Protocol-Version from _meta, Mcp-Method, and Mcp-Name for the
// methods that name a tool, prompt or resource.
inline httplib::Headers ModernHeaders(const json& message) {
  httplib::Headers h;
  const json& params = message.value("params", json::object());
  if (params.contains("_meta") && params["_meta"].contains(kMetaVersion))
    h.emplace("MCP-Protocol-Version", params["_meta"][kMetaVersion].get<std::string>());
  const std::string method = message.value("method", "");
  if (!method.empty()) h.emplace("Mcp-Method", method);
  if (method == "tools/call" || method == "prompts/get")
    h.emplace("Mcp-Name", params.value("name", ""));
  else if (method == "resources/read")
    h.emplace("Mcp-Name", params.value("uri", ""));
  return h;
}

// A client of one MCP session over Streamable HTTP.
class McpHttpClient {
 public:
  explicit McpHttpClient(int port) : port_(port), http_(kLoopback, port) {
    // Bounded waits: a server that hangs fails the test instead of hanging it.
    http_.set_connection_timeout(std::chrono::seconds(2));
    http_.set_read_timeout(std::chrono::seconds(10));
    http_.set_write_timeout(std::chrono::seconds(5));
  }

  httplib::Client& http() { return http_; }
  int port() const { return port_; }

  // Headers every POST carries: Accept, the session id and the protocol
  // version once known, then `extra` (which may repeat none of them).
  httplib::Headers Headers(const httplib::Headers& extra = {}) const {
    httplib::Headers h = {{"Accept", kBothTypes}};
    if (!session_id.empty()) h.emplace("Mcp-Session-Id", session_id);
    if (!protocol_version.empty())
      h.emplace("MCP-Protocol-Version", protocol_version);
    for (const auto& [k, v] : extra) {
      h.erase(k);
      h.emplace(k, v);
    }
    return h;
  }

  McpReply PostRaw(const std::string& body, const httplib::Headers& extra = {},
                   const std::string& content_type = "application/json") {
    return Decode(http_.Post(kMcpPath, Headers(extra), body, content_type));
  }
  McpReply Post(const json& message, const httplib::Headers& extra = {}) {
    return PostRaw(message.dump(), extra);
  }
  McpReply Request(const json& id, const std::string& method,
                   json params = json::object(),
                   const httplib::Headers& extra = {}) {
    return Post({{"jsonrpc", "2.0"},
                 {"id", id},
                 {"method", method},
                 {"params", std::move(params)}},
                extra);
  }
  McpReply Notify(const std::string& method, json params = json::object()) {
    return Post({{"jsonrpc", "2.0"},
                 {"method", method},
                 {"params", std::move(params)}});
  }
  // A 2026-07-28 request: the modern _meta in the body and the headers
  // mirroring it, then `extra` (which may replace any of them).
  McpReply Modern(const json& id, const std::string& method,
                  json params = json::object(),
                  json capabilities = json::object(),
                  const httplib::Headers& extra = {}) {
    json m = ModernRequest(id, method, std::move(params), std::move(capabilities));
    httplib::Headers h = ModernHeaders(m);
    for (const auto& [k, v] : extra) {
      h.erase(k);
      h.emplace(k, v);
    }
    return Post(m, h);
  }
  McpReply Delete(const httplib::Headers& extra = {}) {
    return Decode(http_.Delete(kMcpPath, Headers(extra)));
  }

  // initialize; on success keeps the session id and version for later
  // requests and sends notifications/initialized.
  McpReply Initialize(const std::string& version = "2025-11-25",
                      json capabilities = json::object()) {
    McpReply r =
        Request("init", "initialize",
                {{"protocolVersion", version},
                 {"capabilities", std::move(capabilities)},
                 {"clientInfo", {{"name", "itest"}, {"version", "1"}}}});
    json response = r.Response();
    if (r.status == 200 && response.is_object() &&
        response.contains("result") && response["result"].is_object()) {
      const json& result = response["result"];
      session_id = r.Header("Mcp-Session-Id");
      protocol_version = result.value("protocolVersion", "");
      Notify("notifications/initialized");
    }
    return r;
  }

  std::string session_id;
  std::string protocol_version;

 private:
  int port_;
  httplib::Client http_;
};

// Runs a request whose answer is a stream, in the background: the headers
// and every body chunk are recorded as they arrive, so that a test can act
// while the stream is still open.
class StreamingRequest {
 public:
  StreamingRequest(int port, std::string method, httplib::Headers headers,
                   std::string body = "")
      : http_(kLoopback, port) {
    http_.set_connection_timeout(std::chrono::seconds(2));
    http_.set_read_timeout(std::chrono::seconds(10));
    httplib::Request req;
    req.method = std::move(method);
    req.path = kMcpPath;
    req.headers = std::move(headers);
    if (!body.empty()) {
      req.body = std::move(body);
      req.headers.emplace("Content-Type", "application/json");
    }
    req.response_handler = [this](const httplib::Response& res) {
      std::lock_guard lock(mu_);
      status_ = res.status;
      content_type_ = res.get_header_value("Content-Type");
      cv_.notify_all();
      return true;
    };
    req.content_receiver = [this](const char* data, size_t n, uint64_t,
                                  uint64_t) {
      std::lock_guard lock(mu_);
      body_.append(data, n);
      cv_.notify_all();
      return !stop_;
    };
    thread_ = std::thread([this, req = std::move(req)] {
      auto result = http_.send(req);
      std::lock_guard lock(mu_);
      if (result && status_ < 0) status_ = result->status;
      if (result && body_.empty()) body_ = result->body;
      done_ = true;
      cv_.notify_all();
    });
  }
  ~StreamingRequest() { Close(); }

  // Drops the connection, as a client does that stops reading, and waits
  // for the request's thread to end. Idempotent.
  void Close() {
    if (!thread_.joinable()) return;
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    // stop() unblocks a read that waits for data that will never come; it
    // is repeated in case the request had not reached its socket yet.
    // Bounded by the client's own read timeout in any case.
    for (int i = 0; i < 240 && !WaitDone(std::chrono::milliseconds(0)); ++i) {
      http_.stop();
      WaitDone(std::chrono::milliseconds(50));
    }
    thread_.join();
  }

  // Waits until the status line arrived; returns the status (-1: none).
  int WaitHeaders(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return status_ >= 0 || done_; });
    return status_;
  }
  // Waits until the body contains `needle`.
  bool WaitBody(const std::string& needle, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] {
      return body_.find(needle) != std::string::npos || done_;
    }) && body_.find(needle) != std::string::npos;
  }
  // Waits until the response is complete.
  bool WaitDone(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return done_; });
  }
  std::string body() {
    std::lock_guard lock(mu_);
    return body_;
  }
  std::string content_type() {
    std::lock_guard lock(mu_);
    return content_type_;
  }

 private:
  httplib::Client http_;
  std::mutex mu_;
  std::condition_variable cv_;
  int status_ = -1;
  std::string content_type_, body_;
  bool done_ = false, stop_ = false;
  std::thread thread_;
};

}  // namespace hpc::testing
