// libFuzzer target for JSON-RPC framing and MCP dispatch.
//
// The input is a client's side of a stdio session: newline-separated
// messages, each handed to Server::HandleText on one Session exactly as
// ServeStdio does. Everything the server emits goes to a checking Outbound
// that traps on the first broken protocol invariant, so the fuzzer finds
// wrong answers as well as memory errors:
//   - every message is a JSON object with "jsonrpc":"2.0" whose text (Dump)
//     parses back to the same value;
//   - a response has an id and exactly one of result (an object) and error
//     ({code, message}, code one the server may use);
//   - an id is answered at most as often as the input sent it, and exactly
//     as often unless the input cancelled it or sent it inside a batch;
//   - Abandon() happens only for cancellations, batch responses only in a
//     2025-03-26 session, notifications carry known methods and tokens;
//   - nothing is emitted once the input's session is closed and drained.
//
// The server registered here is small but reaches every dispatch path:
// tools with nested/enum/pattern/$ref schemas and an outputSchema, a tool
// that reports progress and logs, one that blocks until cancelled, one that
// asks the client (answered by the checker itself, so Session::Answer is
// reached deterministically), failing and throwing tools, prompts (one from
// markdown with completions), fixed resources and templates, and a page size
// of 2 so that every */list paginates.
//
// One Server serves every input, each on a new Session that is closed and
// drained at the end of the input (building a Server compiles its schemas:
// ~19 ms under ASan, which would cap the fuzzer near 50 exec/s).
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "mcp_server/json_rpc.h"
#include "mcp_server/server.h"

namespace {

using hpc::Result;
using hpc::Status;
using hpc::mcp::json;
using hpc::mcp::LogLevel;
using hpc::mcp::Outbound;
using hpc::mcp::RequestContext;
using hpc::mcp::Server;
using hpc::mcp::ServerOptions;
using hpc::mcp::Session;
using hpc::mcp::ToolResult;

// The server under test; the tool that publishes resource updates reaches
// it here (a handler has no other way to its server).
Server* g_server = nullptr;

[[noreturn]] void Violation(const char* what, const json& message) {
  std::fprintf(stderr, "\n*** MCP invariant violated: %s\n*** message: %s\n",
               what, hpc::mcp::Dump(message).c_str());
  std::fflush(stderr);
  __builtin_trap();
}

// Our own notion of a request id, independent of the server's IdKey, so a
// bug there cannot hide itself.
std::optional<std::string> IdOf(const json& m) {
  if (!m.is_object()) return std::nullopt;
  auto id = m.find("id");
  if (id == m.end()) return std::nullopt;
  if (id->is_string()) return "s:" + id->get<std::string>();
  if (id->is_number_integer()) return "i:" + id->dump();
  return std::nullopt;
}

bool IsClientResponse(const json& m) {
  return m.is_object() && m.value("jsonrpc", json()) == "2.0" &&
         IdOf(m).has_value() && !m.contains("method") &&
         m.contains("result") != m.contains("error");
}

// What the input entitles the server to send, computed from the input alone.
struct Expectations {
  std::map<std::string, int> sent;  // Messages per id that want an answer.
  std::set<std::string> in_batch;   // Ids sent inside a batch.
  std::set<std::string> cancelled;  // Ids named by notifications/cancelled.
  int cancellations = 0;
  std::map<std::string, int> progress_tokens;  // Dumped token: uses.
  size_t null_id_budget = 0;                   // Lines plus batch elements.
  size_t max_batch = 0;

  void Scan(const json& m, bool batched) {
    ++null_id_budget;
    if (!m.is_object()) return;
    if (auto id = IdOf(m); id && !IsClientResponse(m)) {
      ++sent[*id];
      if (batched) in_batch.insert(*id);
    }
    auto params = m.find("params");
    if (params == m.end() || !params->is_object()) return;
    if (m.value("method", json()) == "notifications/cancelled") {
      ++cancellations;
      if (auto id = IdOf(json{{"id", params->value("requestId", json())}}))
        cancelled.insert(*id);
    }
    auto meta = params->find("_meta");
    if (meta != params->end() && meta->is_object() &&
        meta->contains("progressToken"))
      ++progress_tokens[(*meta)["progressToken"].dump()];
  }
};

// Splits like ServeStdio: on '\n', dropping one trailing '\r' and lines of
// only blanks.
std::vector<std::string_view> Lines(std::string_view in) {
  std::vector<std::string_view> out;
  while (!in.empty()) {
    size_t nl = in.find('\n');
    std::string_view line = in.substr(0, nl);
    in.remove_prefix(nl == std::string_view::npos ? in.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    out.push_back(line);
  }
  return out;
}

// The client end of the session: checks what the server sends and answers
// the server's own requests (sampling, elicitation, roots).
class Checker : public Outbound, public std::enable_shared_from_this<Checker> {
 public:
  Checker(const Expectations& expect, Server* server,
          std::weak_ptr<Session> session)
      : expect_(expect), server_(server), session_(std::move(session)) {}

  void Notify(const json& m) override {
    RoundTrip(m);
    if (!m.is_object() || m.value("jsonrpc", json()) != "2.0")
      Violation("a notification must be a JSON-RPC 2.0 object", m);
    if (!m.contains("method") || !m["method"].is_string())
      Violation("a notification needs a string method", m);
    if (m.contains("result") || m.contains("error"))
      Violation("a response went out through Notify", m);
    if (m.contains("params") && !m["params"].is_object())
      Violation("params of a server message must be an object", m);
    const std::string& method = m["method"].get_ref<const std::string&>();
    if (m.contains("id")) return AnswerServerRequest(m, method);
    const json& params = m.value("params", json::object());
    std::lock_guard lock(mu_);
    CheckOpen(m);
    if (method == "notifications/progress") {
      auto token =
          params.contains("progressToken")
              ? expect_.progress_tokens.find(params["progressToken"].dump())
              : expect_.progress_tokens.end();
      if (token == expect_.progress_tokens.end())
        Violation("progress for a token the client never sent", m);
      if (!params.contains("progress") || !params["progress"].is_number())
        Violation("progress must be a number", m);
      // The spec wants progress to increase; a token that several requests
      // share may interleave, so only a token used once is held to it.
      double progress = params["progress"].get<double>();
      auto [last, first] = last_progress_.emplace(token->first, progress);
      if (token->second == 1 && !first && !(progress > last->second))
        Violation("progress did not increase", m);
      last->second = progress;
    } else if (method == "notifications/message") {
      if (!params.contains("level") || !params["level"].is_string() ||
          !hpc::mcp::ParseLogLevel(params["level"].get<std::string>()))
        Violation("a log message needs a valid level", m);
      if (!params.contains("data")) Violation("a log message needs data", m);
    } else if (method == "notifications/resources/updated") {
      if (!params.contains("uri") || !params["uri"].is_string())
        Violation("resources/updated needs a string uri", m);
    } else {
      Violation("unexpected notification method", m);
    }
  }

  void Respond(const json& m) override {
    RoundTrip(m);
    std::lock_guard lock(mu_);
    CheckOpen(m);
    if (!m.is_array()) return CheckResponse(m);
    if (!batch_allowed_)
      Violation("a batch response outside a 2025-03-26 session", m);
    if (m.empty() || m.size() > expect_.max_batch)
      Violation("a batch response must have 1..(batch size) elements", m);
    for (const json& r : m) CheckResponse(r);
  }

  void Abandon() override {
    std::lock_guard lock(mu_);
    CheckOpen(json());
    if (++abandoned_ > expect_.cancellations)
      Violation("Abandon() without a matching notifications/cancelled",
                json{{"abandoned", abandoned_}});
  }

  // Called once the session is closed and drained: every request that was
  // neither cancelled nor batched must have had exactly one answer.
  void Finish() {
    std::lock_guard lock(mu_);
    closed_ = true;
    for (const auto& [id, n] : expect_.sent) {
      if (expect_.cancelled.count(id) || expect_.in_batch.count(id)) continue;
      auto it = answered_.find(id);
      int got = it == answered_.end() ? 0 : it->second;
      if (got != n)
        Violation("a request was not answered",
                  json{{"id", id}, {"sent", n}, {"answered", got}});
    }
  }

 private:
  void CheckOpen(const json& m) const {
    if (closed_) Violation("a message after the session was drained", m);
  }

  // Requires mu_.
  void CheckResponse(const json& r) {
    if (!r.is_object() || r.value("jsonrpc", json()) != "2.0")
      Violation("a response must be a JSON-RPC 2.0 object", r);
    if (r.contains("method")) Violation("a response must not have a method", r);
    if (!r.contains("id")) Violation("a response needs an id", r);
    if (r.contains("result") == r.contains("error"))
      Violation("a response needs exactly one of result and error", r);
    if (r.contains("result")) {
      if (!r["result"].is_object())
        Violation("an MCP result must be an object", r);
      const json& res = r["result"];
      if (res.contains("serverInfo") && res.contains("protocolVersion"))
        batch_allowed_ = res["protocolVersion"] == "2025-03-26";
    } else {
      const json& e = r["error"];
      if (!e.is_object() || !e.contains("code") ||
          !e["code"].is_number_integer() || !e.contains("message") ||
          !e["message"].is_string())
        Violation("an error needs an integer code and a string message", r);
      static const std::set<int64_t> kCodes = {-32700, -32600, -32601,
                                               -32602, -32603, -32002};
      if (!kCodes.count(e["code"].get<int64_t>()))
        Violation("an unexpected error code", r);
      // A JSON library exception in the answer means a request field was
      // used without checking its type: a -32603 where -32602 belongs, and
      // outside a pooled handler's try block, a crash.
      if (e["message"].get_ref<const std::string&>().find("[json.exception.") !=
          std::string::npos)
        Violation("a nlohmann::json exception reached the client", r);
    }
    const json& id = r["id"];
    if (id.is_null()) {
      // Only a message whose id could not be read is answered with null.
      int64_t code =
          r.contains("error") ? r["error"]["code"].get<int64_t>() : 0;
      if (code != -32700 && code != -32600)
        Violation("a null id outside a parse error or invalid request", r);
      if (++null_answers_ > expect_.null_id_budget)
        Violation("more null-id errors than messages", r);
      return;
    }
    auto key = IdOf(r);
    if (!key) Violation("a response id must be a string, integer or null", r);
    auto sent = expect_.sent.find(*key);
    int allowed = sent == expect_.sent.end() ? 0 : sent->second;
    if (++answered_[*key] > allowed)
      Violation("an id was answered more often than it was sent", r);
  }

  void AnswerServerRequest(const json& m, const std::string& method) {
    static const std::set<std::string> kMethods = {
        "sampling/createMessage", "elicitation/create", "roots/list", "ping"};
    if (!kMethods.count(method))
      Violation("the server sent a request no tool asks for", m);
    if (!m["id"].is_string() ||
        m["id"].get_ref<const std::string&>().rfind("srv-", 0) != 0)
      Violation("server request ids are \"srv-N\" strings", m);
    int turn;
    {
      std::lock_guard lock(mu_);
      CheckOpen(m);
      turn = asked_++;
    }
    auto session = session_.lock();
    if (!session) return;
    // Cycle through the answers a client may give: a result, an error, a
    // result twice (the second finds nobody waiting), and none at all (the
    // tool's short timeout fires).
    json answer;
    switch (turn % 4) {
      case 0:
        answer = hpc::mcp::MakeResult(m["id"],
                                      {{"echo", m.value("params", json())}});
        break;
      case 1:
        answer = hpc::mcp::MakeError(m["id"], {-1, "declined", nullptr});
        break;
      case 2:
        answer = hpc::mcp::MakeResult(m["id"], json::object());
        server_->Handle(session, answer, shared_from_this());
        break;
      default:
        return;
    }
    // Handling a client response never replies; if it did, the reply would
    // be checked like any other (and fail: nobody sent "srv-N").
    server_->Handle(session, answer, shared_from_this());
  }

  static void RoundTrip(const json& m) {
    // Dump is what every transport writes; a value that does not survive it
    // reaches the client changed (invalid UTF-8 is replaced, say).
    std::string text = hpc::mcp::Dump(m);
    json back = hpc::mcp::ParseJson(text);
    if (back.is_discarded() || back != m)
      Violation("the message does not survive serialization", m);
  }

  const Expectations& expect_;
  Server* const server_;
  const std::weak_ptr<Session> session_;
  std::mutex mu_;
  std::map<std::string, int> answered_;
  std::map<std::string, double> last_progress_;
  size_t null_answers_ = 0;
  int abandoned_ = 0;
  int asked_ = 0;
  bool batch_allowed_ = false;
  bool closed_ = false;
};

// --- The server under test ---

json Definition(const char* name, json input, json output = nullptr) {
  json d{{"name", name},
         {"title", name},
         {"description", std::string("fuzz tool ") + name},
         {"annotations",
          {{"readOnlyHint", true},
           {"destructiveHint", false},
           {"idempotentHint", true},
           {"openWorldHint", false}}},
         {"inputSchema", std::move(input)}};
  if (!output.is_null()) d["outputSchema"] = std::move(output);
  return d;
}

void Must(const Status& s) {
  if (!s.ok()) {
    std::fprintf(stderr, "fuzzer setup failed: %s\n", s.ToString().c_str());
    std::abort();
  }
}

void AddTools(Server& server) {
  // Every keyword family valijson implements for tool schemas: nesting,
  // enum, pattern, bounds, uniqueness, oneOf, local $ref, defaults.
  json echo_in = json::parse(R"({
    "type": "object",
    "properties": {
      "text": {"type": "string", "maxLength": 64},
      "mode": {"type": "string", "enum": ["plain", "repeat", "bad_output"],
               "default": "plain"},
      "id": {"type": "string", "pattern": "^[a-z][a-z0-9_-]{0,15}$"},
      "count": {"type": "integer", "minimum": 0, "maximum": 4, "default": 1},
      "ratio": {"type": "number", "exclusiveMinimum": 0},
      "tags": {"type": "array", "items": {"type": "string", "minLength": 1},
               "maxItems": 4, "uniqueItems": true},
      "nested": {
        "type": "object",
        "properties": {
          "a": {"type": "object",
                "properties": {"b": {"type": "array",
                                     "items": {"$ref": "#/$defs/point"}}},
                "required": ["b"]},
          "flag": {"type": "boolean", "default": false}
        },
        "additionalProperties": false
      },
      "choice": {"oneOf": [{"type": "string"}, {"type": "integer"}]}
    },
    "required": ["text"],
    "additionalProperties": false,
    "$defs": {"point": {"type": "object",
                        "properties": {"x": {"type": "number"},
                                       "y": {"type": "number"}},
                        "required": ["x", "y"]}}
  })");
  json echo_out = json::parse(R"({
    "type": "object",
    "properties": {"echo": {"type": "object"}, "text": {"type": "string"}},
    "required": ["echo", "text"]
  })");
  Must(server.AddTool(
      Definition("echo", echo_in, echo_out),
      [](RequestContext&, const json& args) -> Result<ToolResult> {
        std::string text = args["text"], mode = args["mode"];
        if (mode == "bad_output")  // Violates the outputSchema on purpose.
          return ToolResult::Structured({{"echo", args}});
        std::string out;
        int64_t n = mode == "repeat" ? args["count"].get<int64_t>() : 1;
        for (int64_t i = 0; i < n; ++i) out += text;
        return ToolResult::Structured({{"echo", args}, {"text", out}});
      }));

  json report_in = json::parse(R"({
    "type": "object",
    "properties": {
      "steps": {"type": "array", "items": {"type": "number"}, "maxItems": 8},
      "total": {"type": "number"},
      "message": {"type": "string"},
      "levels": {"type": "array", "maxItems": 8,
                 "items": {"enum": ["debug", "info", "notice", "warning",
                                    "error", "critical", "alert",
                                    "emergency"]}},
      "data": {}
    }
  })");
  Must(server.AddTool(
      Definition("report", report_in),
      [](RequestContext& ctx, const json& args) -> Result<ToolResult> {
        std::optional<double> total;
        if (args.contains("total")) total = args["total"].get<double>();
        std::string message = args.value("message", "");
        for (const json& s : args.value("steps", json::array()))
          ctx.Progress(s.get<double>(), total, message);
        for (const json& l : args.value("levels", json::array()))
          ctx.Log(*hpc::mcp::ParseLogLevel(l.get<std::string>()),
                  args.value("data", json(message)), "fuzz");
        return ToolResult::Text("reported");
      }));

  // Blocks until the request is cancelled or the server shuts down, so
  // cancellation of a running call is reached without timing luck.
  Must(server.AddTool(
      Definition("wait", {{"type", "object"}}),
      [](RequestContext& ctx, const json&) -> Result<ToolResult> {
        std::mutex mu;
        std::condition_variable_any cv;
        std::unique_lock lock(mu);
        cv.wait(lock, ctx.stop_token(), [] { return false; });
        return hpc::Cancelled("stopped");
      }));

  json ask_in = json::parse(R"({
    "type": "object",
    "properties": {
      "method": {"enum": ["sampling/createMessage", "elicitation/create",
                          "roots/list", "ping"]},
      "params": {"type": "object"}
    },
    "required": ["method"]
  })");
  Must(server.AddTool(
      Definition("ask", ask_in),
      [](RequestContext& ctx, const json& args) -> Result<ToolResult> {
        if (ctx.ClientSupports("roots")) (void)ctx.ClientInfo();
        auto r = ctx.AskClient(args["method"], args.value("params", json()),
                               std::chrono::milliseconds(1));
        if (!r.ok()) return r.status();
        return ToolResult::Structured({{"answer", *r}});
      }));

  json fail_in = json::parse(R"({
    "type": "object",
    "properties": {"how": {"enum": ["status", "internal", "throw",
                                    "throw_other", "is_error"]}},
    "required": ["how"]
  })");
  Must(server.AddTool(
      Definition("fail", fail_in),
      [](RequestContext&, const json& args) -> Result<ToolResult> {
        std::string how = args["how"];
        if (how == "status") return hpc::InvalidArgument("asked to fail");
        if (how == "internal") return hpc::Internal("asked to fail");
        if (how == "throw") throw std::runtime_error("asked to throw");
        if (how == "throw_other") throw 42;
        ToolResult r = ToolResult::Text("failed as asked");
        r.is_error = true;
        return r;
      }));

  Must(server.AddTool(
      Definition("touch", {{"type", "object"},
                           {"properties", {{"uri", {{"type", "string"}}}}},
                           {"required", {"uri"}}}),
      [](RequestContext&, const json& args) -> Result<ToolResult> {
        g_server->NotifyResourceUpdated(args["uri"]);
        return ToolResult::Text("touched");
      }));
}

void AddPromptsAndResources(Server& server) {
  Must(server.AddPrompt(
      {{"name", "greet"},
       {"arguments",
        {{{"name", "name"}, {"required", true}}, {{"name", "style"}}}}},
      [](RequestContext&, const json& args) -> Result<json> {
        return json{
            {"messages",
             {{{"role", "user"},
               {"content",
                {{"type", "text"},
                 {"text", "hello " + args["name"].get<std::string>()}}}}}}};
      }));
  Must(server.AddPromptFile(
      "---\nname: plan\ntitle: Plan\narguments:\n  - name: goal\n"
      "    required: true\n  - name: size\ncompletions:\n"
      "  size: [small, medium, large, '1', 2]\n---\nPlan {{goal}} at {{ size "
      "}}.\n",
      "plan.md"));
  for (const char* name : {"a", "b", "c"}) {
    std::string uri = std::string("fuzz://static/") + name;
    Must(server.AddResource(
        {{"uri", uri}, {"name", name}, {"mimeType", "text/plain"}},
        [](const std::string& uri, const auto&) -> Result<json> {
          return json::array({{{"uri", uri}, {"text", "static " + uri}}});
        }));
  }
  // Ids select failures, so reads reach every error mapping.
  Must(server.AddResourceTemplate(
      {{"uriTemplate", "fuzz://item/{id}/data"}, {"name", "item"}},
      [](const std::string& uri,
         const std::map<std::string, std::string>& vars) -> Result<json> {
        const std::string& id = vars.at("id");
        if (id == "missing") return hpc::NotFound("no item " + id);
        if (id == "denied") return hpc::PermissionDenied("not yours");
        if (id == "throw") throw std::runtime_error("reader threw");
        return json::array({{{"uri", uri}, {"text", id}}});
      }));
  Must(server.AddResourceTemplate(
      {{"uriTemplate", "fuzz://user/{name}.{ext}"}, {"name", "user"}},
      [](const std::string& uri,
         const std::map<std::string, std::string>& vars) -> Result<json> {
        return json::array(
            {{{"uri", uri}, {"text", vars.at("name") + "|" + vars.at("ext")}}});
      }));
  // More candidates than one response may carry (100), to reach hasMore.
  server.AddCompleter(
      "ref/resource", "fuzz://item/{id}/data",
      [](const std::string&, const std::string& prefix, const json&) {
        std::vector<std::string> out;
        for (int i = 0; i < 150; ++i) {
          std::string v = std::to_string(i);
          if (v.rfind(prefix, 0) == 0) out.push_back(v);
        }
        return out;
      });
}

std::unique_ptr<Server> MakeServer() {
  ServerOptions options;
  options.name = "dispatch-fuzzer";
  options.version = "0";
  options.instructions = "fuzzing";
  options.page_size = 2;
  options.max_workers = 4;
  options.strict_output = true;
  auto server = std::make_unique<Server>(options);
  AddTools(*server);
  AddPromptsAndResources(*server);
  return server;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Log calls are formatted (they carry client data) but written nowhere.
  auto logger = std::make_shared<spdlog::logger>(
      "fuzz", std::make_shared<spdlog::sinks::null_sink_mt>());
  logger->set_level(spdlog::level::trace);
  spdlog::set_default_logger(logger);
  // Never destroyed: the pool's idle workers outlive the last input.
  g_server = MakeServer().release();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> lines = Lines(input);

  Expectations expect;
  for (std::string_view line : lines) {
    json parsed = hpc::mcp::ParseJson(line);
    if (parsed.is_discarded()) {
      ++expect.null_id_budget;
    } else if (parsed.is_array()) {
      ++expect.null_id_budget;  // A rejected batch is one error.
      expect.max_batch = std::max(expect.max_batch, parsed.size());
      for (const json& m : parsed) expect.Scan(m, /*batched=*/true);
    } else {
      expect.Scan(parsed, /*batched=*/false);
    }
  }

  Server& server = *g_server;
  auto session = server.NewSession("");
  auto checker = std::make_shared<Checker>(expect, &server, session);
  session->SetStandalone(checker);
  for (std::string_view line : lines) server.HandleText(session, line, checker);
  // Cancels what is still running (the wait tool), then waits until no
  // pooled call holds the checker: every response this input causes has
  // been checked before Finish, and nothing leaks into the next input.
  server.CloseSession(session);
  session->SetStandalone(nullptr);
  while (checker.use_count() > 1)
    std::this_thread::sleep_for(std::chrono::microseconds(20));
  checker->Finish();
  return 0;
}
