// What a tool handler sees: its request context, and what it returns.
//
// A tool is registered with its full MCP definition (from
// schemas/tools/<name>.json) and a handler. The server validates the
// arguments against the inputSchema and fills in schema defaults before the
// handler runs, so a handler never re-checks shapes the schema already states.
// A handler reports failure by returning a non-OK Status: the server turns it
// into an `isError` result whose text is the Status message, so the message
// must say what was wrong and what the agent should do next.
#pragma once

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

#include "mcp_server/status.h"

namespace hpc::mcp {

using json = nlohmann::json;

// RFC 5424 severities, as MCP logging names them.
enum class LogLevel {
  kDebug, kInfo, kNotice, kWarning, kError, kCritical, kAlert, kEmergency
};
const char* LogLevelName(LogLevel level);
std::optional<LogLevel> ParseLogLevel(std::string_view name);

// The request a handler serves. Implemented by the server; tests of tools
// may implement it themselves.
//
// Thread-safety: all methods may be called from the handler's thread and
// from threads it starts, until the handler returns.
class RequestContext {
 public:
  virtual ~RequestContext() = default;

  // Stops when the client cancels the request or the server shuts down.
  // Long-running handlers poll it or wait on it.
  virtual std::stop_token stop_token() const = 0;

  // Sends notifications/progress if the client asked for progress. Values
  // that do not increase are dropped (the spec requires strict increase).
  virtual void Progress(double progress, std::optional<double> total = {},
                        std::string message = "") = 0;

  // Sends notifications/message if `level` passes the client's threshold.
  virtual void Log(LogLevel level, json data, std::string logger = "") = 0;

  // Whether the client declared this capability ("sampling", "elicitation",
  // "roots") in initialize.
  virtual bool ClientSupports(std::string_view capability) const = 0;

  // Sends a request to the client (sampling/createMessage,
  // elicitation/create, roots/list) and waits for its result. Fails with
  // FailedPrecondition when the client lacks the capability, Cancelled when
  // the request is cancelled, DeadlineExceeded after `timeout`.
  //
  // A 2026-07-28 request cannot wait: there the ask fails with Unavailable
  // and InputPending() turns true; the handler must then return at once
  // (any result: it is discarded) and will run again, from the start, with
  // the answer, once the client has given it. So ask before changing
  // anything.
  virtual Result<json> AskClient(std::string method, json params,
                                 std::chrono::milliseconds timeout) = 0;
  // Whether an AskClient of this attempt awaits the client's answer.
  virtual bool InputPending() const { return false; }

  // The client's self-description from initialize ({name, version}); empty
  // object when unknown.
  virtual json ClientInfo() const = 0;

  // The HTTP session (Mcp-Session-Id) the request came in on; empty on
  // stdio. It identifies a client, it does not authenticate one.
  virtual std::string SessionId() const { return ""; }

  // Tells every session subscribed to `uri` that the resource changed (a
  // tool call that changed what a resource shows). No-op by default.
  virtual void ResourceUpdated(const std::string& uri) {}

  // Whether the request speaks 2026-07-28 (per-request metadata, no
  // session), and the protocol version it speaks.
  virtual bool Modern() const { return false; }
  virtual std::string ProtocolVersion() const { return ""; }

  // Fails when the client did not declare `capability`. A tool that cannot
  // do its work without it returns this status: to a modern request the
  // server then answers MissingRequiredClientCapability (-32021) naming it,
  // to a legacy one an isError result.
  virtual Status RequireClientCapability(std::string_view capability) {
    if (ClientSupports(capability)) return Status::Ok();
    return FailedPrecondition("the client did not declare the '" + std::string(capability) +
                              "' capability this tool needs");
  }

  // Input-required round trips (2026-07-28 basic/patterns/mrtr.mdx). A
  // handler that needs the client's input returns ToolResult::InputRequired;
  // the client answers and repeats the call, and the handler then finds the
  // answers here, by the keys it used, with the state it handed out
  // (verified: a client cannot alter it). Legacy clients get the same
  // behaviour: the server sends the input requests to them as server-to-
  // client requests and calls the handler again with the answers.
  virtual json InputResponses() const { return json::object(); }
  virtual std::string RequestState() const { return ""; }
};

// A tools/call result. `content` is what every client shows; `structured`
// (when not null) is the machine-readable result checked against the tool's
// outputSchema.
struct ToolResult {
  json content = json::array();
  json structured;
  bool is_error = false;
  // Not null: the call needs the client's input first. An object of
  // InputRequests by key ({method: "elicitation/create" |
  // "sampling/createMessage" | "roots/list", params}); `request_state` is
  // handed back (sealed) with the answers.
  json input_requests;
  std::string request_state;

  static ToolResult InputRequired(json input_requests, std::string request_state = "");

  static ToolResult Text(std::string text);
  // structuredContent plus its JSON text as the content block, as the spec
  // recommends for clients that do not read structuredContent.
  static ToolResult Structured(json structured);
};

using ToolHandler =
    std::function<Result<ToolResult>(RequestContext&, const json& arguments)>;

// Where a tool's handler runs.
enum class Execution {
  // On the bounded worker pool: the default, for anything that may block
  // (I/O, a scheduler, a remote command) or run long.
  kPool,
  // On the thread that received the request, saving two thread hand-offs
  // per call. Only for handlers that never block, send no notifications and
  // finish in microseconds (in-memory lookups): on stdio such a handler
  // holds up reading the next request, and it cannot be cancelled.
  kInline,
};

// Adapts a handler over typed Args/Out (with nlohmann from_json/to_json
// whose field names equal the schema's properties) to a ToolHandler. A
// from_json failure means the schema and the struct drifted: that is a bug
// and reported as kInternal.
template <typename Args, typename Out>
ToolHandler Typed(std::function<Result<Out>(RequestContext&, const Args&)> fn) {
  return [fn = std::move(fn)](RequestContext& ctx,
                              const json& arguments) -> Result<ToolResult> {
    Args args;
    try {
      args = arguments.get<Args>();
    } catch (const std::exception& e) {
      return Internal(std::string("arguments do not fit the handler (schema "
                                  "and code disagree): ") + e.what());
    }
    Result<Out> out = fn(ctx, args);
    if (!out.ok()) return out.status();
    return ToolResult::Structured(json(*out));
  };
}

}  // namespace hpc::mcp
