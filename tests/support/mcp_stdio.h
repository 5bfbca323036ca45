// A minimal MCP client for a server process spoken to over stdio, for
// integration tests: one JSON-RPC message per line in, and every stdout
// line checked to be a JSON-RPC message on the way out.
//
// Header-only because the test build globs only *_test.cc files.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/modern.h"
#include "tests/support/subprocess.h"

namespace hpc::testing {

using json = nlohmann::json;

class StdioServer {
 public:
  // Starts `binary args...`; the server speaks stdio by default.
  explicit StdioServer(const std::string& binary,
                       std::vector<std::string> args = {})
      : process_(Argv(binary, std::move(args))) {}

  Subprocess& process() { return process_; }
  bool started() const { return process_.started(); }

  bool Send(const json& message) { return SendLine(message.dump()); }
  bool SendLine(std::string_view line) {
    return process_.Write(std::string(line) + "\n");
  }

  // The next message on stdout, or nullopt at timeout or EOF. A line that is
  // not a JSON-RPC 2.0 object is recorded in bad_lines() and skipped.
  std::optional<json> Next(
      std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    auto deadline = Clock::now() + timeout;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - Clock::now());
      if (left.count() <= 0) return std::nullopt;
      auto line = process_.ReadLine(left);
      if (!line) return std::nullopt;
      if (auto m = Parse(*line)) return m;
    }
  }

  // Reads until the response to `id` arrives. Responses to other requests
  // read on the way are kept for later Await calls (answers to concurrent
  // requests arrive in any order); other messages (notifications, server
  // requests) are appended to `others`.
  std::optional<json> Await(
      const json& id,
      std::chrono::milliseconds timeout = std::chrono::seconds(5),
      std::vector<json>* others = nullptr) {
    for (auto it = unclaimed_.begin(); it != unclaimed_.end(); ++it) {
      if ((*it)["id"] == id) {
        json m = std::move(*it);
        unclaimed_.erase(it);
        return m;
      }
    }
    auto deadline = Clock::now() + timeout;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - Clock::now());
      auto m = Next(left);
      if (!m) return std::nullopt;
      if (IsResponse(*m) && (*m)["id"] == id) return m;
      if (IsResponse(*m)) {
        unclaimed_.push_back(std::move(*m));
      } else if (others) {
        others->push_back(std::move(*m));
      }
    }
  }

  // Responses that Await read but nobody has claimed yet.
  std::vector<json> TakeUnclaimed() { return std::exchange(unclaimed_, {}); }

  // Sends a request and waits for its response.
  std::optional<json> Request(
      const json& id, const std::string& method, json params = json::object(),
      std::chrono::milliseconds timeout = std::chrono::seconds(5),
      std::vector<json>* others = nullptr) {
    if (!Send(MakeRequest(id, method, std::move(params)))) return std::nullopt;
    return Await(id, timeout, others);
  }

  // A 2026-07-28 request (the modern _meta added to `params`) and its
  // response.
  std::optional<json> Modern(
      const json& id, const std::string& method, json params = json::object(),
      json capabilities = json::object(),
      std::chrono::milliseconds timeout = std::chrono::seconds(5),
      std::vector<json>* others = nullptr) {
    return Request(id, method, ModernParams(std::move(params), std::move(capabilities)),
                   timeout, others);
  }

  // initialize + notifications/initialized; returns the initialize response.
  std::optional<json> Initialize(const std::string& version = "2025-11-25",
                                 json capabilities = json::object()) {
    auto r = Request("init", "initialize",
                     {{"protocolVersion", version},
                      {"capabilities", std::move(capabilities)},
                      {"clientInfo", {{"name", "itest"}, {"version", "1"}}}});
    if (r && r->contains("result"))
      Send({{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}});
    return r;
  }

  // Stdout lines that were not JSON-RPC 2.0 messages.
  const std::vector<std::string>& bad_lines() const { return bad_lines_; }

  static json MakeRequest(const json& id, const std::string& method,
                          json params = json::object()) {
    return {{"jsonrpc", "2.0"},
            {"id", id},
            {"method", method},
            {"params", std::move(params)}};
  }
  static json MakeNotification(const std::string& method,
                               json params = json::object()) {
    return {
        {"jsonrpc", "2.0"}, {"method", method}, {"params", std::move(params)}};
  }
  static bool IsResponse(const json& m) {
    return m.is_object() && m.contains("id") && !m.contains("method") &&
           (m.contains("result") || m.contains("error"));
  }

 private:
  static std::vector<std::string> Argv(const std::string& binary,
                                       std::vector<std::string> args) {
    args.insert(args.begin(), binary);
    return args;
  }

  std::optional<json> Parse(const std::string& line) {
    json m = json::parse(line, nullptr, /*allow_exceptions=*/false);
    bool ok = (m.is_object() && m.value("jsonrpc", "") == "2.0") ||
              (m.is_array() && !m.empty());  // A 2025-03-26 batch answer.
    if (!ok) {
      bad_lines_.push_back(line);
      return std::nullopt;
    }
    return m;
  }

  Subprocess process_;
  std::vector<std::string> bad_lines_;
  std::vector<json> unclaimed_;
};

}  // namespace hpc::testing
