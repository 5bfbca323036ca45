#include "mcp_server/server.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "mcp_server/assets.h"
#include "mcp_server/prompts.h"
#include "mcp_server/uri_template.h"

namespace hpc::mcp {

struct Server::Tool {
  std::string name;
  json definition;
  JsonSchema input;
  std::optional<JsonSchema> output;
  ToolHandler handler;
  Execution execution;
};

struct Server::Prompt {
  json definition;
  PromptHandler handler;
};

struct Server::Resource {
  json descriptor;
  ResourceReader reader;
};

struct Server::Template {
  json descriptor;
  UriTemplate matcher;
  ResourceReader reader;
};

namespace {

constexpr const char* kProgressMethod = "notifications/progress";

// Maps a Status from a protocol handler of `method` to its JSON-RPC error.
RpcError RpcErrorFor(const Status& s, std::string_view method,
                     const json& params) {
  switch (s.code()) {
    case StatusCode::kNotFound:
      if (method == "resources/read" || method == "resources/subscribe")
        return {rpc::kResourceNotFound, s.message(),
                {{"uri", params.value("uri", json())}}};
      return {rpc::kInvalidParams, s.message(), nullptr};
    case StatusCode::kInvalidArgument:
      return {rpc::kInvalidParams, s.message(), nullptr};
    case StatusCode::kUnimplemented:
      return {rpc::kMethodNotFound, s.message(), nullptr};
    case StatusCode::kFailedPrecondition:
      return {rpc::kInvalidRequest, s.message(), nullptr};
    default:
      return {rpc::kInternalError, s.message(), nullptr};
  }
}

// Levenshtein distance, for "did you mean" hints on unknown names.
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t prev = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cur = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1,
                         prev + (a[i - 1] == b[j - 1] ? 0 : 1)});
      prev = cur;
    }
  }
  return row[b.size()];
}

template <typename Map>
std::string Suggest(const Map& names, std::string_view wrong) {
  std::string best;
  size_t best_d = 3;  // Suggest only close matches.
  for (const auto& [name, v] : names) {
    size_t d = EditDistance(name, wrong);
    if (d < best_d) best_d = d, best = name;
  }
  std::string all;
  for (const auto& [name, v] : names) all += (all.empty() ? "" : ", ") + name;
  std::string s = best.empty() ? "" : " Did you mean \"" + best + "\"?";
  return s + " Available: " + (all.empty() ? "(none)" : all) + ".";
}

std::string EncodeCursor(size_t offset) { return "o" + std::to_string(offset); }

std::optional<size_t> DecodeCursor(const json& cursor, size_t size) {
  if (!cursor.is_string()) return std::nullopt;
  const std::string& c = cursor.get_ref<const std::string&>();
  if (c.empty()) return 0;  // 2026-07-28: an empty cursor is the first page.
  if (c.size() < 2 || c[0] != 'o' || c.size() > 12) return std::nullopt;
  size_t v = 0;
  for (size_t i = 1; i < c.size(); ++i) {
    if (c[i] < '0' || c[i] > '9') return std::nullopt;
    v = v * 10 + (c[i] - '0');
  }
  if (v == 0 || v >= size) return std::nullopt;
  return v;
}

const char* CapabilityFor(std::string_view method) {
  if (method == "sampling/createMessage") return "sampling";
  if (method == "elicitation/create") return "elicitation";
  if (method == "roots/list") return "roots";
  return nullptr;
}

}  // namespace

const std::vector<std::string>& SupportedProtocolVersions() {
  static const std::vector<std::string> kVersions = {"2025-11-25", "2025-06-18",
                                                     "2025-03-26"};
  return kVersions;
}

// The RequestContext of one pooled request.
class Server::CallContext : public RequestContext {
 public:
  CallContext(Server* server, std::shared_ptr<Session> session, std::shared_ptr<Outbound> reply,
              std::shared_ptr<InFlight> in_flight, json progress_token)
      : server_(server),
        session_(std::move(session)),
        reply_(std::move(reply)),
        in_flight_(std::move(in_flight)),
        progress_token_(std::move(progress_token)) {}

  std::stop_token stop_token() const override {
    return in_flight_->stop.get_token();
  }

  void Progress(double progress, std::optional<double> total,
                std::string message) override {
    if (progress_token_.is_null() || done_) return;
    std::lock_guard lock(mu_);
    if (last_progress_ && progress <= *last_progress_) return;
    last_progress_ = progress;
    json p{{"progressToken", progress_token_}, {"progress", progress}};
    if (total) p["total"] = *total;
    if (!message.empty()) p["message"] = std::move(message);
    SendUnlessCancelled(MakeNotification(kProgressMethod, std::move(p)));
  }

  void Log(LogLevel level, json data, std::string logger) override {
    if (done_ || level < session_->log_level()) return;
    json p{{"level", LogLevelName(level)}, {"data", std::move(data)}};
    if (!logger.empty()) p["logger"] = std::move(logger);
    SendUnlessCancelled(MakeNotification("notifications/message", std::move(p)));
  }

  bool ClientSupports(std::string_view capability) const override {
    return session_->ClientSupports(capability);
  }

  Result<json> AskClient(std::string method, json params,
                         std::chrono::milliseconds timeout) override {
    const char* cap = CapabilityFor(method);
    if (cap && !session_->ClientSupports(cap))
      return FailedPrecondition("the client did not declare the '" +
                                std::string(cap) + "' capability, so " +
                                method + " cannot be sent to it");
    return session_->Ask(*reply_, std::move(method), std::move(params),
                         stop_token(), timeout);
  }

  json ClientInfo() const override { return session_->client_info(); }
  std::string SessionId() const override { return session_->id(); }

  void ResourceUpdated(const std::string& uri) override { server_->NotifyResourceUpdated(uri); }

  // After this, no progress or log notification leaves for this request.
  void Finish() { done_ = true; }

 private:
  // Holds the request's lock while sending, so that nothing leaves once
  // Session::Cancel has returned.
  void SendUnlessCancelled(const json& message) {
    std::lock_guard lock(in_flight_->mu);
    if (!in_flight_->cancelled) reply_->Notify(message);
  }

  Server* server_;
  std::shared_ptr<Session> session_;
  std::shared_ptr<Outbound> reply_;
  std::shared_ptr<InFlight> in_flight_;
  json progress_token_;
  std::mutex mu_;
  std::optional<double> last_progress_;
  std::atomic<bool> done_{false};
};

// Collects the responses of a 2025-03-26 batch into one array.
class Server::BatchReply : public Outbound {
 public:
  BatchReply(std::shared_ptr<Outbound> out, size_t expected)
      : out_(std::move(out)), expected_(expected) {}
  void Notify(const json& m) override { out_->Notify(m); }
  void Respond(const json& m) override {
    std::unique_lock lock(mu_);
    responses_.push_back(m);
    Settle(lock);
  }
  void Abandon() override {
    std::unique_lock lock(mu_);
    ++abandoned_;
    Settle(lock);
  }

 private:
  void Settle(std::unique_lock<std::mutex>& lock) {
    if (responses_.size() + abandoned_ < expected_) return;
    json all = std::move(responses_);
    lock.unlock();
    if (all.empty())
      out_->Abandon();
    else
      out_->Respond(all);
  }
  std::shared_ptr<Outbound> out_;
  const size_t expected_;
  std::mutex mu_;
  json responses_ = json::array();
  size_t abandoned_ = 0;
};

Server::Server(ServerOptions options)
    : options_(std::move(options)),
      pool_(options_.min_workers, options_.max_workers,
            std::chrono::seconds(30)) {
  auto text = FindAsset(CoreAssets(), "schemas/tool_definition.json");
  json meta = text ? ParseJson(*text) : json();
  auto compiled = JsonSchema::Compile(meta, "schemas/tool_definition.json");
  if (!compiled.ok()) {
    spdlog::critical("{}", compiled.status().ToString());
    std::abort();  // A build defect, not a runtime condition.
  }
  tool_definition_schema_ = std::make_shared<JsonSchema>(*compiled);
}

Server::~Server() { Shutdown(); }

Status Server::AddTool(json definition, ToolHandler handler, Execution execution) {
  if (frozen_) return FailedPrecondition("tools must be added before serving");
  std::string name = StringOr(definition, "name", "(unnamed)");
  auto violations = tool_definition_schema_->Validate(definition);
  if (!violations.empty())
    return InvalidArgument("definition of tool '" + name +
                           "' does not match schemas/tool_definition.json: " +
                           FormatViolations(violations));
  if (HasTool(name)) return AlreadyExists("tool '" + name + "' is defined twice");
  auto input = JsonSchema::Compile(definition["inputSchema"],
                                   "inputSchema of tool '" + name + "'");
  if (!input.ok()) return input.status();
  if (options_.wrap_tool)
    handler = options_.wrap_tool(definition, std::move(handler));
  auto tool = std::make_shared<Tool>(
      Tool{name, definition, *input, {}, std::move(handler), execution});
  if (definition.contains("outputSchema")) {
    auto output = JsonSchema::Compile(definition["outputSchema"],
                                      "outputSchema of tool '" + name + "'");
    if (!output.ok()) return output.status();
    tool->output = *output;
  }
  // Withheld after every check, so that a bad definition stops the server
  // in either mode.
  if (options_.read_only &&
      !definition["annotations"].value("readOnlyHint", false)) {
    withheld_tools_.insert(name);
    return Status::Ok();
  }
  tools_[name] = tool;
  return Status::Ok();
}

Status Server::AddPrompt(json definition, PromptHandler handler) {
  if (frozen_) return FailedPrecondition("prompts must be added before serving");
  if (!definition.is_object() || !definition["name"].is_string())
    return InvalidArgument("a prompt needs a string name");
  std::string name = definition["name"];
  if (prompts_.count(name)) return AlreadyExists("prompt '" + name + "' is defined twice");
  prompts_[name] = std::make_shared<Prompt>(Prompt{definition, std::move(handler)});
  return Status::Ok();
}

Status Server::AddPromptFile(std::string_view markdown, std::string_view source) {
  Result<PromptFile> file = ParsePromptMarkdown(markdown, source);
  if (!file.ok()) return file.status();
  std::string body = file->body;
  std::string name = file->definition["name"];
  if (!file->completions.empty()) {
    // One completer serves every argument of the prompt.
    AddCompleter("ref/prompt", name,
                 [all = file->completions](const std::string& argument,
                                           const std::string& prefix,
                                           const json&) {
                   std::vector<std::string> out;
                   auto it = all.find(argument);
                   if (it == all.end()) return out;
                   for (const auto& v : it->second)
                     if (v.rfind(prefix, 0) == 0) out.push_back(v);
                   return out;
                 });
  }
  return AddPrompt(file->definition, [body](const json& args) -> Result<json> {
    return json{{"messages",
                 json::array({{{"role", "user"},
                               {"content",
                                {{"type", "text"},
                                 {"text", RenderTemplate(body, args)}}}}})}};
  });
}

Status Server::AddResource(json descriptor, ResourceReader reader) {
  if (frozen_) return FailedPrecondition("resources must be added before serving");
  if (!descriptor["uri"].is_string() || !descriptor["name"].is_string())
    return InvalidArgument("a resource needs string uri and name");
  std::string uri = descriptor["uri"];
  if (resources_.count(uri)) return AlreadyExists("resource " + uri + " is defined twice");
  resources_[uri] = std::make_shared<Resource>(Resource{descriptor, std::move(reader)});
  return Status::Ok();
}

Status Server::AddResourceTemplate(json descriptor, ResourceReader reader) {
  if (frozen_) return FailedPrecondition("templates must be added before serving");
  if (!descriptor["uriTemplate"].is_string() || !descriptor["name"].is_string())
    return InvalidArgument("a resource template needs string uriTemplate and name");
  auto matcher = UriTemplate::Parse(descriptor["uriTemplate"].get<std::string>());
  if (!matcher.ok()) return matcher.status();
  templates_.push_back(std::make_shared<Template>(
      Template{descriptor, *matcher, std::move(reader)}));
  return Status::Ok();
}

void Server::AddCompleter(std::string ref_type, std::string name, Completer c) {
  completers_[ref_type + "\n" + name] = std::move(c);
}

void Server::Freeze() {
  if (frozen_.exchange(true)) return;
  capabilities_ = Capabilities();
  for (auto& [name, t] : tools_) tool_list_.push_back(t->definition);
  for (auto& [name, p] : prompts_) prompt_list_.push_back(p->definition);
  for (auto& [uri, r] : resources_) resource_list_.push_back(r->descriptor);
  for (auto& t : templates_) template_list_.push_back(t->descriptor);
}

json Server::Capabilities() const {
  json caps{{"tools", json::object()}, {"logging", json::object()}};
  if (!prompts_.empty()) caps["prompts"] = json::object();
  if (!resources_.empty() || !templates_.empty())
    caps["resources"] = {{"subscribe", true}};
  if (!prompts_.empty() || !templates_.empty())
    caps["completions"] = json::object();
  return caps;
}

std::shared_ptr<Session> Server::NewSession(std::string id) {
  Freeze();
  auto s = std::make_shared<Session>(std::move(id));
  std::lock_guard lock(sessions_mu_);
  std::erase_if(sessions_, [](const auto& w) { return w.expired(); });
  sessions_.push_back(s);
  return s;
}

void Server::CloseSession(const std::shared_ptr<Session>& session) {
  session->CancelAll();
  std::lock_guard lock(sessions_mu_);
  std::erase_if(sessions_, [&](const auto& w) {
    auto s = w.lock();
    return !s || s == session;
  });
}

void Server::NotifyResourceUpdated(const std::string& uri) {
  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard lock(sessions_mu_);
    for (auto& w : sessions_)
      if (auto s = w.lock()) live.push_back(s);
  }
  for (auto& s : live) {
    if (!s->IsSubscribed(uri)) continue;
    if (auto out = s->standalone())
      out->Notify(MakeNotification("notifications/resources/updated", {{"uri", uri}}));
  }
}

void Server::Shutdown() {
  if (shut_down_.exchange(true)) return;
  {
    std::lock_guard lock(sessions_mu_);
    for (auto& w : sessions_)
      if (auto s = w.lock()) s->CancelAll();
  }
  pool_.Shutdown();
}

bool Server::ExpectsResponse(const json& parsed) {
  if (parsed.is_discarded()) return true;
  if (parsed.is_array()) {
    if (parsed.empty()) return true;
    for (const json& m : parsed)
      if (ExpectsResponse(m)) return true;
    return false;
  }
  std::string why;
  MessageKind k = Classify(parsed, &why);
  return k == MessageKind::kRequest || k == MessageKind::kInvalid;
}

void Server::HandleText(const std::shared_ptr<Session>& session,
                        std::string_view text,
                        const std::shared_ptr<Outbound>& reply) {
  json parsed = ParseJson(text);
  if (parsed.is_discarded()) {
    reply->Respond(MakeError(nullptr, {rpc::kParseError,
                                       "Parse error: the message is not valid "
                                       "JSON; send one JSON-RPC object per "
                                       "message",
                                       nullptr}));
    return;
  }
  Handle(session, parsed, reply);
}

void Server::Handle(const std::shared_ptr<Session>& session, const json& parsed,
                    const std::shared_ptr<Outbound>& reply) {
  session->Touch();
  if (!parsed.is_array()) {
    HandleOne(session, parsed, reply);
    return;
  }
  // Batches exist only in protocol version 2025-03-26.
  auto invalid = [&](const char* why) {
    reply->Respond(MakeError(nullptr, {rpc::kInvalidRequest, why, nullptr}));
  };
  if (session->protocol_version() != "2025-03-26")
    return invalid("Invalid request: JSON-RPC batches are only allowed in "
                   "protocol version 2025-03-26; send one message at a time");
  if (parsed.empty()) return invalid("Invalid request: empty batch");
  size_t expected = 0;
  for (const json& m : parsed) {
    if (StringOr(m, "method") == "initialize")
      return invalid("Invalid request: initialize must not be part of a batch");
    if (ExpectsResponse(m)) ++expected;
  }
  std::shared_ptr<Outbound> batch =
      expected ? std::make_shared<BatchReply>(reply, expected) : reply;
  for (const json& m : parsed) HandleOne(session, m, batch);
}

void Server::HandleOne(const std::shared_ptr<Session>& session,
                       const json& message,
                       const std::shared_ptr<Outbound>& reply) {
  std::string why;
  switch (Classify(message, &why)) {
    case MessageKind::kRequest:
      return HandleRequest(session, message, reply);
    case MessageKind::kNotification:
      return HandleNotification(session, message);
    case MessageKind::kResponse:
      if (!session->Answer(message))
        spdlog::debug("dropping a response to no pending request: {}",
                      Dump(message["id"]));
      return;
    case MessageKind::kInvalid: {
      json id = nullptr;
      if (message.is_object() && message.contains("id") &&
          (message["id"].is_string() || message["id"].is_number_integer()))
        id = message["id"];
      reply->Respond(MakeError(id, {rpc::kInvalidRequest,
                                    "Invalid request: " + why, nullptr}));
      return;
    }
  }
}

void Server::HandleNotification(const std::shared_ptr<Session>& session,
                                const json& n) {
  const std::string& method = n["method"].get_ref<const std::string&>();
  if (method == "notifications/cancelled") {
    const json& params = n.value("params", json::object());
    if (params.is_object() && params.contains("requestId") &&
        (params["requestId"].is_string() || params["requestId"].is_number_integer())) {
      if (session->Cancel(IdKey(params["requestId"])))
        spdlog::debug("cancelled request {}", Dump(params["requestId"]));
    }
  }
  // notifications/initialized, roots/list_changed and unknown notifications
  // need no action; a notification is never answered.
}

void Server::HandleRequest(const std::shared_ptr<Session>& session,
                           const json& request,
                           const std::shared_ptr<Outbound>& reply) {
  const json& id = request["id"];
  const std::string& method = request["method"].get_ref<const std::string&>();
  static const json kEmpty = json::object();
  const json& params = request.contains("params") ? request["params"] : kEmpty;
  if (!params.is_object()) {
    reply->Respond(MakeError(id, {rpc::kInvalidParams,
                                  "Invalid params: MCP params are an object",
                                  nullptr}));
    return;
  }
  Reply r = json::object();
  if (method == "initialize") {
    r = Initialize(*session, params);
  } else if (method == "ping") {
    r = json::object();
  } else if (!session->initialized()) {
    r = FailedPrecondition("Invalid request: the session is not initialized; "
                           "send initialize first");
  } else if (method == "tools/call" || method == "prompts/get" ||
             method == "resources/read" || method == "completion/complete") {
    if (method != "tools/call" &&
        !capabilities_.contains(method == "prompts/get"      ? "prompts"
                                 : method == "resources/read" ? "resources"
                                                              : "completions")) {
      r = Unimplemented("Method not found: " + method +
                        " (this server declares no such capability)");
    } else {
      return RunCall(session, request, reply);
    }
  } else if (method == "tools/list") {
    r = ListTools(params);
  } else if (method == "prompts/list" && !prompts_.empty()) {
    r = ListPrompts(params);
  } else if (method == "resources/list" && capabilities_.contains("resources")) {
    r = ListResources(params);
  } else if (method == "resources/templates/list" &&
             capabilities_.contains("resources")) {
    r = ListTemplates(params);
  } else if ((method == "resources/subscribe" || method == "resources/unsubscribe") &&
             capabilities_.contains("resources")) {
    r = Subscribe(*session, params, method == "resources/subscribe");
  } else if (method == "logging/setLevel") {
    r = SetLevel(*session, params);
  } else {
    r = Unimplemented("Method not found: " + method);
  }
  if (r.ok())
    reply->Respond(MakeResult(id, std::move(r).value()));
  else
    reply->Respond(MakeError(id, RpcErrorFor(r.status(), method, params)));
}

bool Server::RunsInline(const std::string& method, const json& params) const {
  if (method != "tools/call") return false;
  auto it = tools_.find(StringOr(params, "name"));
  return it != tools_.end() && it->second->execution == Execution::kInline;
}

void Server::RunCall(const std::shared_ptr<Session>& session, const json& request,
                     const std::shared_ptr<Outbound>& reply) {
  const json& id = request["id"];
  std::string key = IdKey(id);
  auto in_flight = session->Begin(key);
  if (!in_flight) {
    reply->Respond(MakeError(id, {rpc::kInvalidRequest,
                                  "Invalid request: id " + Dump(id) +
                                      " is already in use by a request in "
                                      "flight; use a new id",
                                  nullptr}));
    return;
  }
  static const json kEmpty = json::object();
  const json& params = request.contains("params") ? request["params"] : kEmpty;
  if (RunsInline(request["method"].get_ref<const std::string&>(), params)) {
    Execute(session, request, reply, in_flight, key);
    return;
  }
  auto task = [this, session, request, reply, in_flight, key] {
    Execute(session, request, reply, in_flight, key);
  };
  if (!pool_.Submit(std::move(task))) {
    session->End(key);
    reply->Respond(MakeError(id, {rpc::kInternalError,
                                  "Internal error: the server is shutting down",
                                  nullptr}));
  }
}

void Server::Execute(const std::shared_ptr<Session>& session, const json& request,
                     const std::shared_ptr<Outbound>& reply,
                     const std::shared_ptr<InFlight>& in_flight, const std::string& key) {
  const json& id = request["id"];
  const std::string& method = request["method"].get_ref<const std::string&>();
  static const json kEmpty = json::object();
  const json& params = request.contains("params") ? request["params"] : kEmpty;
  json token = nullptr;
  if (params.contains("_meta") && params["_meta"].is_object())
    token = params["_meta"].value("progressToken", json());
  CallContext ctx(this, session, reply, in_flight, token);
  Reply r = Internal("unreachable");
  try {
    if (method == "tools/call") {
      r = CallTool(ctx, params);
      if (r.ok() && options_.finish_tool_result)
        options_.finish_tool_result(*r);
    } else if (method == "prompts/get") {
      r = GetPrompt(params);
    } else if (method == "resources/read") {
      r = ReadResource(params);
    } else {
      r = Complete(params);
    }
  } catch (const std::exception& e) {
    r = Internal(std::string("Internal error: ") + e.what());
  }
  ctx.Finish();
  session->End(key);
  if (in_flight->IsCancelled()) {
    reply->Abandon();  // The spec: no response to a cancelled request.
  } else if (r.ok()) {
    reply->Respond(MakeResult(id, std::move(r).value()));
  } else {
    reply->Respond(MakeError(id, RpcErrorFor(r.status(), method, params)));
  }
}

Server::Reply Server::Initialize(Session& session, const json& params) {
  if (session.initialized())
    return FailedPrecondition("Invalid request: initialize was already "
                              "answered for this session");
  if (!params.contains("protocolVersion") || !params["protocolVersion"].is_string())
    return InvalidArgument("Invalid params: initialize needs a string "
                           "protocolVersion, e.g. \"" +
                           SupportedProtocolVersions()[0] + "\"");
  const std::string requested = params["protocolVersion"];
  const auto& supported = SupportedProtocolVersions();
  std::string version = std::find(supported.begin(), supported.end(), requested) !=
                                supported.end()
                            ? requested
                            : supported.front();
  session.SetInitialized(version, params.value("clientInfo", json::object()),
                         params.value("capabilities", json::object()));
  json info{{"name", options_.name}, {"version", options_.version}};
  if (!options_.title.empty()) info["title"] = options_.title;
  json result{{"protocolVersion", version},
              {"capabilities", capabilities_},
              {"serverInfo", info}};
  if (!options_.instructions.empty()) result["instructions"] = options_.instructions;
  return result;
}

Server::Reply Server::Page(const std::vector<json>& items, const char* key,
                           const json& params) const {
  size_t offset = 0;
  if (params.contains("cursor")) {
    auto o = DecodeCursor(params["cursor"], items.size());
    if (!o)
      return InvalidArgument("Invalid params: unknown cursor " +
                             Dump(params["cursor"]) +
                             "; pass the nextCursor of the previous page, or "
                             "no cursor for the first page");
    offset = *o;
  }
  size_t end = std::min(items.size(), offset + options_.page_size);
  json page = json::array();
  for (size_t i = offset; i < end; ++i) page.push_back(items[i]);
  json result{{key, std::move(page)}};
  if (end < items.size()) result["nextCursor"] = EncodeCursor(end);
  return result;
}

Server::Reply Server::ListTools(const json& params) const {
  return Page(tool_list_, "tools", params);
}
Server::Reply Server::ListPrompts(const json& params) const {
  return Page(prompt_list_, "prompts", params);
}
Server::Reply Server::ListResources(const json& params) const {
  return Page(resource_list_, "resources", params);
}
Server::Reply Server::ListTemplates(const json& params) const {
  return Page(template_list_, "resourceTemplates", params);
}

Server::Reply Server::CallTool(CallContext& ctx, const json& params) {
  if (!params.contains("name") || !params["name"].is_string())
    return InvalidArgument("Invalid params: tools/call needs a string 'name'");
  const std::string& name = params["name"].get_ref<const std::string&>();
  auto it = tools_.find(name);
  if (it == tools_.end())
    return InvalidArgument("Unknown tool: \"" + name + "\"." + Suggest(tools_, name));
  const Tool& tool = *it->second;

  auto is_error = [&](std::string text) {
    return json{{"content", json::array({{{"type", "text"}, {"text", std::move(text)}}})},
                {"isError", true}};
  };
  json args = params.contains("arguments") ? params["arguments"] : json::object();
  if (args.is_null()) args = json::object();
  auto violations = tool.input.Validate(args);
  if (!violations.empty())
    return is_error("Invalid arguments for tool \"" + name + "\": " +
                    FormatViolations(violations) +
                    ". Fix these arguments and call again; the inputSchema in "
                    "tools/list describes every field.");
  tool.input.ApplyDefaults(args);

  Result<ToolResult> out = Internal("unreachable");
  try {
    out = tool.handler(ctx, args);
  } catch (const std::exception& e) {
    spdlog::error("tool {} threw: {}", name, e.what());
    out = Internal(std::string("the tool failed unexpectedly: ") + e.what());
  } catch (...) {
    spdlog::error("tool {} threw a non-exception", name);
    out = Internal("the tool failed unexpectedly");
  }
  if (!out.ok()) {
    const Status& s = out.status();
    std::string text = s.message();
    if (s.code() == StatusCode::kInternal)
      text = "Internal error in tool \"" + name + "\": " + text +
             ". This is a server defect; the server log has details.";
    // What to do next travels with what went wrong.
    if (!s.remediation().empty()) text += ". What to do: " + s.remediation();
    return is_error(std::move(text));
  }
  ToolResult& r = *out;
  json result{{"content", std::move(r.content)}};
  if (!r.structured.is_null()) result["structuredContent"] = std::move(r.structured);
  if (r.is_error) result["isError"] = true;
  if (tool.output && !r.is_error) {
    std::vector<SchemaViolation> bad;
    if (!result.contains("structuredContent"))
      bad.push_back({"", "structuredContent is missing but the tool has an outputSchema"});
    else
      bad = tool.output->Validate(result["structuredContent"]);
    if (!bad.empty()) {
      spdlog::error("tool {} returned output that violates its outputSchema: {}",
                    name, FormatViolations(bad));
      if (options_.strict_output)
        return is_error("Internal error in tool \"" + name +
                        "\": its output violates its outputSchema: " +
                        FormatViolations(bad));
    }
  }
  return result;
}

Server::Reply Server::GetPrompt(const json& params) const {
  if (!params.contains("name") || !params["name"].is_string())
    return InvalidArgument("Invalid params: prompts/get needs a string 'name'");
  const std::string& name = params["name"].get_ref<const std::string&>();
  auto it = prompts_.find(name);
  if (it == prompts_.end())
    return InvalidArgument("Unknown prompt: \"" + name + "\"." + Suggest(prompts_, name));
  json args = params.value("arguments", json::object());
  if (!args.is_object())
    return InvalidArgument("Invalid params: prompt arguments are an object of strings");
  const json& declared = it->second->definition.value("arguments", json::array());
  std::set<std::string> known;
  for (const json& a : declared) {
    std::string arg = a["name"];
    known.insert(arg);
    if (a.value("required", false) && !args.contains(arg))
      return InvalidArgument("Invalid params: prompt \"" + name +
                             "\" needs the argument \"" + arg + "\"");
  }
  for (auto a = args.begin(); a != args.end(); ++a) {
    if (!known.count(a.key()))
      return InvalidArgument("Invalid params: prompt \"" + name +
                             "\" has no argument \"" + a.key() + "\"");
    if (!a->is_string())
      return InvalidArgument("Invalid params: argument \"" + a.key() +
                             "\" must be a string");
  }
  return it->second->handler(args);
}

bool Server::ResourceExists(const std::string& uri) const {
  if (resources_.count(uri)) return true;
  for (const auto& t : templates_)
    if (t->matcher.Match(uri)) return true;
  return false;
}

Server::Reply Server::ReadResource(const json& params) const {
  if (!params.contains("uri") || !params["uri"].is_string())
    return InvalidArgument("Invalid params: resources/read needs a string 'uri'");
  const std::string& uri = params["uri"].get_ref<const std::string&>();
  Result<json> contents = NotFound("");
  if (auto it = resources_.find(uri); it != resources_.end()) {
    contents = it->second->reader(uri, {});
  } else {
    bool matched = false;
    for (const auto& t : templates_) {
      if (auto vars = t->matcher.Match(uri)) {
        contents = t->reader(uri, *vars);
        matched = true;
        break;
      }
    }
    if (!matched) contents = NotFound("Resource not found: " + uri);
  }
  if (!contents.ok()) {
    if (contents.status().code() == StatusCode::kNotFound)
      return NotFound(contents.status().message());
    return contents.status();
  }
  return json{{"contents", std::move(*contents)}};
}

Server::Reply Server::Subscribe(Session& session, const json& params, bool on) {
  if (!params.contains("uri") || !params["uri"].is_string())
    return InvalidArgument("Invalid params: needs a string 'uri'");
  std::string uri = params["uri"];
  if (on && !ResourceExists(uri))
    return NotFound("Resource not found: " + uri);
  if (on)
    session.Subscribe(uri);
  else
    session.Unsubscribe(uri);
  return json::object();
}

Server::Reply Server::SetLevel(Session& session, const json& params) {
  auto level = params.contains("level") && params["level"].is_string()
                   ? ParseLogLevel(params["level"].get<std::string>())
                   : std::nullopt;
  if (!level)
    return InvalidArgument("Invalid params: level must be one of debug, info, "
                           "notice, warning, error, critical, alert, emergency");
  session.SetLogLevel(*level);
  return json::object();
}

Server::Reply Server::Complete(const json& params) const {
  // Every member is checked before use: a client may send anything here.
  const json kNone;
  const json& ref = params.contains("ref") ? params["ref"] : kNone;
  const json& arg = params.contains("argument") ? params["argument"] : kNone;
  const std::string type = StringOr(ref, "type");
  const std::string arg_name = StringOr(arg, "name");
  if (type.empty() || arg_name.empty())
    return InvalidArgument("Invalid params: completion/complete needs "
                           "ref{type,...} and argument{name,value}");
  if (arg.contains("value") && !arg["value"].is_string())
    return InvalidArgument("Invalid params: argument.value must be a string");
  std::string name;
  if (type == "ref/prompt") {
    name = StringOr(ref, "name");
    if (!prompts_.count(name))
      return InvalidArgument("Invalid params: unknown prompt \"" + name + "\"." +
                             Suggest(prompts_, name));
  } else if (type == "ref/resource") {
    name = StringOr(ref, "uri");
    if (name.empty()) return InvalidArgument("Invalid params: ref/resource needs a uri");
  } else {
    return InvalidArgument("Invalid params: ref.type must be ref/prompt or ref/resource");
  }
  json context = json::object();
  if (params.contains("context")) {
    const json& c = params["context"];
    if (!c.is_object() || (c.contains("arguments") && !c["arguments"].is_object()))
      return InvalidArgument("Invalid params: context.arguments must be an object");
    if (c.contains("arguments")) context = c["arguments"];
  }
  std::vector<std::string> values;
  if (auto it = completers_.find(type + "\n" + name); it != completers_.end())
    values = it->second(arg_name, StringOr(arg, "value"), context);
  constexpr size_t kMax = 100;  // The spec's cap per response.
  json completion{{"values", json::array()},
                  {"total", values.size()},
                  {"hasMore", values.size() > kMax}};
  for (size_t i = 0; i < values.size() && i < kMax; ++i)
    completion["values"].push_back(values[i]);
  return json{{"completion", std::move(completion)}};
}

}  // namespace hpc::mcp
