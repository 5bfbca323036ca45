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
  CacheHint cache;
};

struct Server::Template {
  json descriptor;
  UriTemplate matcher;
  ResourceReader reader;
  CacheHint cache;
};

// An open subscriptions/listen stream (2026-07-28).
struct Server::Listener {
  json id;                    // The listen request's id: the subscription id.
  json honoured;              // The filter as acknowledged.
  std::set<std::string> uris;  // resourceSubscriptions.
  std::shared_ptr<Session> session;
  std::string key;
  std::shared_ptr<Outbound> reply;
  std::shared_ptr<InFlight> in_flight;
};

// One attempt of a handler that may need the client's input first.
struct Server::Turn {
  json result;
  json input_requests;  // Null: complete.
  std::string state;
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

// The RequestContext of one pooled request.
class Server::CallContext : public RequestContext {
 public:
  CallContext(Server* server, std::shared_ptr<Session> session, std::shared_ptr<Outbound> reply,
              std::shared_ptr<InFlight> in_flight, json progress_token,
              std::shared_ptr<const Peer> peer)
      : server_(server),
        session_(std::move(session)),
        reply_(std::move(reply)),
        in_flight_(std::move(in_flight)),
        progress_token_(std::move(progress_token)),
        peer_(std::move(peer)) {}

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
    // Legacy: the session's level, which logging/setLevel may move during
    // the call. Modern: only what the request's _meta asked for.
    std::optional<LogLevel> threshold =
        peer_->modern ? peer_->log_level : std::optional(session_->log_level());
    if (done_ || !threshold || level < *threshold) return;
    json p{{"level", LogLevelName(level)}, {"data", std::move(data)}};
    if (!logger.empty()) p["logger"] = std::move(logger);
    SendUnlessCancelled(MakeNotification("notifications/message", std::move(p)));
  }

  bool ClientSupports(std::string_view capability) const override {
    return peer_->Supports(capability);
  }

  Result<json> AskClient(std::string method, json params,
                         std::chrono::milliseconds timeout) override {
    const char* cap = CapabilityFor(method);
    if (cap && !peer_->Supports(cap))
      return FailedPrecondition("the client did not declare the '" +
                                std::string(cap) + "' capability, so " +
                                method + " cannot be sent to it");
    if (!peer_->modern)
      return session_->Ask(*reply_, std::move(method), std::move(params),
                           stop_token(), timeout);
    // A modern request cannot wait for the client: the n-th ask of an
    // attempt becomes input request "ask-n", the call is answered with an
    // input-required result, and the handler runs again from the start
    // when the client repeats it with the answers, where the same ask now
    // finds its answer.
    // Answers of earlier rounds come back in the requestState this server
    // sealed (see TakePendingAsks), as the client resends only the last.
    if (!earlier_read_) {
      earlier_read_ = true;
      json earlier = ParseJson(request_state_);
      if (earlier.is_object()) answered_ = std::move(earlier);
    }
    std::string key = "ask-" + std::to_string(++asks_);
    if (input_responses_.contains(key)) answered_[key] = input_responses_[key];
    if (answered_.contains(key)) return answered_[key];
    pending_asks_[key] = {{"method", method}, {"params", std::move(params)}};
    return Unavailable("waiting for the client's answer to " + method);
  }

  bool InputPending() const override { return !pending_asks_.empty(); }
  // What this attempt asked for and found no answer to (see AskClient); a
  // new attempt starts counting again.
  // `state` receives what the next round must hand back: the answers so far.
  json TakePendingAsks(std::string* state) {
    json asks = pending_asks_.empty() ? json() : std::move(pending_asks_);
    if (!asks.is_null()) *state = Dump(answered_);
    pending_asks_ = json::object();
    asks_ = 0;
    return asks;
  }

  json ClientInfo() const override { return peer_->client_info; }
  std::string SessionId() const override { return session_->id(); }

  void ResourceUpdated(const std::string& uri) override { server_->NotifyResourceUpdated(uri); }

  bool Modern() const override { return peer_->modern; }
  std::string ProtocolVersion() const override { return peer_->protocol_version; }

  Status RequireClientCapability(std::string_view capability) override {
    if (peer_->Supports(capability)) return Status::Ok();
    std::string cap(capability);
    if (peer_->modern)
      missing_capability_ = RpcError{
          rpc::kMissingClientCapability,
          "Missing required client capability: this request needs '" + cap +
              "'; declare it in _meta \"" + meta::kClientCapabilities + "\" and retry",
          {{"requiredCapabilities", {{cap, json::object()}}}}};
    return FailedPrecondition("the client did not declare the '" + cap +
                              "' capability this tool needs");
  }
  // Set by RequireClientCapability on a modern request: the error to answer.
  const std::optional<RpcError>& missing_capability() const { return missing_capability_; }

  json InputResponses() const override { return input_responses_; }
  std::string RequestState() const override { return request_state_; }
  void SetInput(json responses, std::string state) {
    input_responses_ = std::move(responses);
    request_state_ = std::move(state);
  }
  const Peer& peer() const { return *peer_; }
  Outbound& reply() { return *reply_; }

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
  const std::shared_ptr<const Peer> peer_;
  std::mutex mu_;
  std::optional<double> last_progress_;
  std::atomic<bool> done_{false};
  std::optional<RpcError> missing_capability_;
  json input_responses_ = json::object();
  std::string request_state_;
  int asks_ = 0;
  json pending_asks_ = json::object();
  json answered_ = json::object();  // AskClient answers by key, all rounds.
  bool earlier_read_ = false;
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
      sealer_(options_.request_state_key),
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
  return AddPrompt(file->definition, [body](RequestContext&, const json& args) -> Result<json> {
    return json{{"messages",
                 json::array({{{"role", "user"},
                               {"content",
                                {{"type", "text"},
                                 {"text", RenderTemplate(body, args)}}}}})}};
  });
}

Status Server::AddResource(json descriptor, ResourceReader reader, CacheHint cache) {
  if (frozen_) return FailedPrecondition("resources must be added before serving");
  if (!descriptor["uri"].is_string() || !descriptor["name"].is_string())
    return InvalidArgument("a resource needs string uri and name");
  std::string uri = descriptor["uri"];
  if (resources_.count(uri)) return AlreadyExists("resource " + uri + " is defined twice");
  resources_[uri] = std::make_shared<Resource>(Resource{descriptor, std::move(reader), cache});
  return Status::Ok();
}

Status Server::AddResourceTemplate(json descriptor, ResourceReader reader,
                                   CacheHint cache) {
  if (frozen_) return FailedPrecondition("templates must be added before serving");
  if (!descriptor["uriTemplate"].is_string() || !descriptor["name"].is_string())
    return InvalidArgument("a resource template needs string uriTemplate and name");
  auto matcher = UriTemplate::Parse(descriptor["uriTemplate"].get<std::string>());
  if (!matcher.ok()) return matcher.status();
  templates_.push_back(std::make_shared<Template>(
      Template{descriptor, *matcher, std::move(reader), cache}));
  return Status::Ok();
}

void Server::AddCompleter(std::string ref_type, std::string name, Completer c) {
  completers_[ref_type + "\n" + name] = std::move(c);
}

void Server::Freeze() {
  if (frozen_.exchange(true)) return;
  capabilities_ = Capabilities();
  server_info_ = ServerInfo();
  for (auto& [name, t] : tools_) tool_list_.push_back(t->definition);
  for (auto& [name, p] : prompts_) prompt_list_.push_back(p->definition);
  for (auto& [uri, r] : resources_) resource_list_.push_back(r->descriptor);
  for (auto& t : templates_) template_list_.push_back(t->descriptor);
}

json Server::Capabilities() const {
  json caps{{"tools", json::object()}, {"logging", json::object()}};
  if (options_.tools_list_changed) caps["tools"]["listChanged"] = true;
  if (!prompts_.empty()) caps["prompts"] = json::object();
  if (!prompts_.empty() && options_.prompts_list_changed)
    caps["prompts"]["listChanged"] = true;
  if (!resources_.empty() || !templates_.empty()) {
    caps["resources"] = {{"subscribe", true}};
    if (options_.resources_list_changed) caps["resources"]["listChanged"] = true;
  }
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
  Broadcast([&](const Listener& l) { return l.uris.count(uri) > 0; },
            "notifications/resources/updated", {{"uri", uri}});
}

void Server::NotifyListChanged(std::string_view list) {
  bool declared = list == "tools"     ? options_.tools_list_changed
                  : list == "prompts" ? options_.prompts_list_changed
                  : list == "resources" && options_.resources_list_changed;
  if (!declared) return;
  std::string method = "notifications/" + std::string(list) + "/list_changed";
  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard lock(sessions_mu_);
    for (auto& w : sessions_)
      if (auto s = w.lock()) live.push_back(s);
  }
  for (auto& s : live)
    if (s->initialized())
      if (auto out = s->standalone()) out->Notify(MakeNotification(method, json::object()));
  std::string filter = std::string(list) + "ListChanged";
  Broadcast([&](const Listener& l) { return l.honoured.value(filter, false); }, method,
            json::object());
}

void Server::Broadcast(const std::function<bool(const Listener&)>& wants,
                       const std::string& method, const json& params) {
  std::vector<std::shared_ptr<Listener>> live, gone;
  {
    std::lock_guard lock(listeners_mu_);
    for (auto& l : listeners_)
      (l->in_flight->stop.stop_requested() ? gone : live).push_back(l);
    std::erase_if(listeners_, [](const auto& l) { return l->in_flight->stop.stop_requested(); });
  }
  for (auto& l : gone) l->session->End(l->key);
  for (auto& l : live) {
    if (!wants(*l)) continue;
    json p = params;
    p["_meta"][meta::kSubscriptionId] = l->id;
    std::lock_guard lock(l->in_flight->mu);
    if (!l->in_flight->cancelled) l->reply->Notify(MakeNotification(method, std::move(p)));
  }
}

void Server::Listen(const std::shared_ptr<Session>& session, const json& request,
                    const std::shared_ptr<Outbound>& reply) {
  const json& id = request["id"];
  const json& params = request["params"];  // Present: HandleModern read its _meta.
  if (!params.contains("notifications") || !params["notifications"].is_object()) {
    reply->Respond(MakeError(
        id, {rpc::kInvalidParams,
             "Invalid params: subscriptions/listen needs a 'notifications' object, e.g. "
             "{\"toolsListChanged\": true, \"resourceSubscriptions\": [\"hpc://runs/ID\"]}",
             nullptr}));
    return;
  }
  const json& want = params["notifications"];
  auto asked = [&](const char* k) { return want.contains(k) && want[k] == true; };
  auto l = std::make_shared<Listener>();
  l->id = id;
  l->honoured = json::object();
  if (asked("toolsListChanged") && options_.tools_list_changed)
    l->honoured["toolsListChanged"] = true;
  if (asked("promptsListChanged") && options_.prompts_list_changed && !prompts_.empty())
    l->honoured["promptsListChanged"] = true;
  if (asked("resourcesListChanged") && options_.resources_list_changed &&
      capabilities_.contains("resources"))
    l->honoured["resourcesListChanged"] = true;
  if (want.contains("resourceSubscriptions") && want["resourceSubscriptions"].is_array() &&
      capabilities_.contains("resources")) {
    json uris = json::array();
    for (const json& u : want["resourceSubscriptions"])
      if (u.is_string() && l->uris.insert(u.get<std::string>()).second) uris.push_back(u);
    l->honoured["resourceSubscriptions"] = std::move(uris);
  }
  l->session = session;
  l->key = IdKey(id);
  l->reply = reply;
  l->in_flight = session->Begin(l->key);
  if (!l->in_flight) {
    reply->Respond(MakeError(id, {rpc::kInvalidRequest,
                                  "Invalid request: id " + Dump(id) +
                                      " is already in use by a request in flight; use a new id",
                                  nullptr}));
    return;
  }
  // Registered, then acknowledged, under the lock Broadcast sends under: a
  // change from the moment the client holds the ack on is delivered, and
  // nothing reaches the stream before the ack.
  std::shared_ptr<InFlight> flight = l->in_flight;
  std::lock_guard hold(flight->mu);
  {
    std::lock_guard lock(listeners_mu_);
    if (shut_down_) {
      reply->Respond(MakeResult(id, Finish({{"_meta", {{meta::kSubscriptionId, id}}}})));
      session->End(l->key);
      return;
    }
    listeners_.push_back(l);
  }
  reply->Notify(MakeNotification(
      "notifications/subscriptions/acknowledged",
      {{"notifications", l->honoured}, {"_meta", {{meta::kSubscriptionId, id}}}}));
}

void Server::Shutdown() {
  if (shut_down_.exchange(true)) return;
  // A graceful end for every open subscription (SubscriptionsListenResult).
  std::vector<std::shared_ptr<Listener>> listeners;
  {
    std::lock_guard lock(listeners_mu_);
    listeners.swap(listeners_);
  }
  for (auto& l : listeners) {
    std::lock_guard lock(l->in_flight->mu);
    if (!l->in_flight->cancelled)
      l->reply->Respond(MakeResult(l->id, Finish({{"_meta", {{meta::kSubscriptionId, l->id}}}})));
    l->session->End(l->key);
  }
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
  if (!session->initialized() && ServedAsModern(method, params))
    return HandleModern(session, request, reply);
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
      return RunCall(session, request, reply, session->peer());
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

void Server::HandleModern(const std::shared_ptr<Session>& session, const json& request,
                          const std::shared_ptr<Outbound>& reply) {
  const json& id = request["id"];
  const std::string& method = request["method"].get_ref<const std::string&>();
  static const json kEmpty = json::object();
  // An object when present: HandleRequest checked.
  const json& params = request.contains("params") ? request["params"] : kEmpty;
  RpcError error;
  std::optional<Peer> read = ReadModernPeer(params, &error);
  if (!read) return reply->Respond(MakeError(id, error));
  auto peer = std::make_shared<const Peer>(std::move(*read));
  auto cacheable = [&](Reply r) -> Reply {
    if (r.ok()) {
      (*r)["ttlMs"] = options_.list_ttl_ms;
      (*r)["cacheScope"] = "public";
    }
    return r;
  };
  Reply r = json::object();
  if (IsRemovedInModern(method)) {
    r = Unimplemented("Method not found: " + method +
                      " does not exist in protocol version 2026-07-28; a legacy client "
                      "sends initialize without _meta to open a 2025-11-25 session");
  } else if (method == "server/discover") {
    r = Discover();
  } else if (method == "tools/call" || method == "prompts/get" ||
             method == "resources/read" || method == "completion/complete") {
    if (method != "tools/call" &&
        !capabilities_.contains(method == "prompts/get"      ? "prompts"
                                 : method == "resources/read" ? "resources"
                                                              : "completions"))
      r = Unimplemented("Method not found: " + method +
                        " (this server declares no such capability)");
    else
      return RunCall(session, request, reply, peer);
  } else if (method == "subscriptions/listen") {
    return Listen(session, request, reply);
  } else if (method == "tools/list") {
    r = cacheable(ListTools(params));
  } else if (method == "prompts/list" && !prompts_.empty()) {
    r = cacheable(ListPrompts(params));
  } else if (method == "resources/list" && capabilities_.contains("resources")) {
    r = cacheable(ListResources(params));
  } else if (method == "resources/templates/list" && capabilities_.contains("resources")) {
    r = cacheable(ListTemplates(params));
  } else {
    r = Unimplemented("Method not found: " + method);
  }
  if (r.ok())
    reply->Respond(MakeResult(id, Finish(std::move(r).value())));
  else
    reply->Respond(MakeError(id, RpcErrorFor(r.status(), method, params)));
}

json Server::ServerInfo() const {
  json info{{"name", options_.name}, {"version", options_.version}};
  if (!options_.title.empty()) info["title"] = options_.title;
  return info;
}

json Server::Finish(json result) const {
  if (!result.contains("resultType")) result["resultType"] = "complete";
  if (!result.contains("_meta") || !result["_meta"].is_object()) result["_meta"] = json::object();
  result["_meta"][meta::kServerInfo] = server_info_;
  return result;
}

Server::Reply Server::Discover() const {
  json result{{"supportedVersions", AllProtocolVersions()},
              {"capabilities", capabilities_},
              {"ttlMs", options_.list_ttl_ms},
              {"cacheScope", "public"}};
  if (!options_.instructions.empty()) result["instructions"] = options_.instructions;
  return result;
}

bool Server::RunsInline(const std::string& method, const json& params) const {
  if (method != "tools/call") return false;
  auto it = tools_.find(StringOr(params, "name"));
  return it != tools_.end() && it->second->execution == Execution::kInline;
}

void Server::RunCall(const std::shared_ptr<Session>& session, const json& request,
                     const std::shared_ptr<Outbound>& reply,
                     std::shared_ptr<const Peer> peer) {
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
    Execute(session, request, reply, in_flight, key, peer);
    return;
  }
  auto task = [this, session, request, reply, in_flight, key, peer] {
    Execute(session, request, reply, in_flight, key, peer);
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
                     const std::shared_ptr<InFlight>& in_flight, const std::string& key,
                     const std::shared_ptr<const Peer>& peer) {
  const json& id = request["id"];
  const std::string& method = request["method"].get_ref<const std::string&>();
  static const json kEmpty = json::object();
  const json& params = request.contains("params") ? request["params"] : kEmpty;
  json token = nullptr;
  if (params.contains("_meta") && params["_meta"].is_object())
    token = params["_meta"].value("progressToken", json());
  CallContext ctx(this, session, reply, in_flight, token, peer);
  // A protocol error decided here rather than mapped from a Status.
  std::optional<RpcError> error;
  if (peer->modern && (method == "tools/call" || method == "prompts/get"))
    error = ReadInput(ctx, method + "\n" + StringOr(params, "name"), params);
  Reply r = Internal("unreachable");
  if (!error) {
    try {
      if (method == "tools/call") {
        r = CallTool(ctx, params);
        if (r.ok() && options_.finish_tool_result) options_.finish_tool_result(*r);
      } else if (method == "prompts/get") {
        r = GetPrompt(ctx, params);
      } else if (method == "resources/read") {
        r = ReadResource(params, peer->modern);
      } else {
        r = Complete(params);
      }
    } catch (const std::exception& e) {
      r = Internal(std::string("Internal error: ") + e.what());
    }
  }
  ctx.Finish();
  session->End(key);
  // 2026-07-28 answers these with errors of their own (-32021; -32602 and
  // the uri for an unknown resource) where legacy has isError and -32002.
  if (!error && ctx.missing_capability() &&
      (!r.ok() || (r->is_object() && r->value("isError", false))))
    error = ctx.missing_capability();
  if (!error && peer->modern && !r.ok() && method == "resources/read" &&
      r.status().code() == StatusCode::kNotFound)
    error = RpcError{rpc::kInvalidParams, r.status().message(),
                     {{"uri", params.value("uri", json())}}};
  if (in_flight->IsCancelled()) {
    reply->Abandon();  // The spec: no response to a cancelled request.
  } else if (error) {
    reply->Respond(MakeError(id, *error));
  } else if (r.ok()) {
    reply->Respond(MakeResult(id, peer->modern ? Finish(std::move(r).value())
                                              : std::move(r).value()));
  } else {
    reply->Respond(MakeError(id, RpcErrorFor(r.status(), method, params)));
  }
}

std::optional<RpcError> Server::ReadInput(CallContext& ctx, const std::string& scope,
                                          const json& params) const {
  json responses = json::object();
  if (params.contains("inputResponses")) {
    if (!params["inputResponses"].is_object())
      return RpcError{rpc::kInvalidParams,
                      "Invalid params: inputResponses must be an object keyed as the "
                      "inputRequests of the previous round were",
                      nullptr};
    responses = params["inputResponses"];
    // Every answer is a client result object (ElicitResult,
    // CreateMessageResult, ListRootsResult). Anything else is refused here,
    // so that no handler mistakes a malformed answer for a given one.
    for (const auto& [key, answer] : responses.items())
      if (!answer.is_object())
        return RpcError{rpc::kInvalidParams,
                        "Invalid params: inputResponses[\"" + key +
                            "\"] must be the client's result object for that input "
                            "request (ElicitResult, CreateMessageResult or ListRootsResult), "
                            "not " + std::string(answer.type_name()),
                        nullptr};
  }
  std::string state;
  if (params.contains("requestState")) {
    std::optional<std::string> opened;
    if (params["requestState"].is_string())
      opened = sealer_.Open(scope, params["requestState"].get<std::string>());
    if (!opened)
      return RpcError{rpc::kInvalidParams,
                      "Invalid params: requestState failed its integrity check (altered, "
                      "expired, issued for another request, or issued before the server "
                      "restarted); call again without requestState and inputResponses to "
                      "start over",
                      nullptr};
    state = std::move(*opened);
  }
  ctx.SetInput(std::move(responses), std::move(state));
  return std::nullopt;
}

Server::Reply Server::Converse(CallContext& ctx, const std::string& scope,
                               const std::function<Result<Turn>()>& attempt) {
  constexpr int kMaxRounds = 8;  // Legacy only: a modern client drives the rounds.
  for (int round = 1;; ++round) {
    Result<Turn> t = attempt();
    if (!t.ok()) return t.status();
    if (t->input_requests.is_null()) return std::move(t->result);
    for (const auto& [key, req] : t->input_requests.items()) {
      const char* cap = CapabilityFor(StringOr(req, "method"));
      if (!cap) return Internal("input request '" + key + "' names no client method");
      if (Status s = ctx.RequireClientCapability(cap); !s.ok()) return s;
    }
    if (ctx.peer().modern) {
      json r{{"resultType", "input_required"}, {"inputRequests", t->input_requests}};
      if (!t->state.empty()) r["requestState"] = sealer_.Seal(scope, t->state);
      return r;
    }
    if (round == kMaxRounds)
      return FailedPrecondition("the request still needed the client's input after " +
                                std::to_string(kMaxRounds) + " rounds");
    // A legacy client is asked directly, one server-to-client request each.
    json responses = json::object();
    for (const auto& [key, req] : t->input_requests.items()) {
      Result<json> answer = ctx.AskClient(StringOr(req, "method"),
                                          req.value("params", json::object()),
                                          std::chrono::minutes(10));
      if (!answer.ok()) return answer.status();
      responses[key] = std::move(*answer);
    }
    ctx.SetInput(std::move(responses), std::move(t->state));
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
  json result{{"protocolVersion", version},
              {"capabilities", capabilities_},
              {"serverInfo", server_info_}};
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

  auto attempt = [&]() -> Result<Turn> {
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
    std::string state;
    if (json asks = ctx.TakePendingAsks(&state); !asks.is_null())
      return Turn{json::object(), std::move(asks), std::move(state)};
    if (!out.ok()) {
      const Status& s = out.status();
      std::string text = s.message();
      if (s.code() == StatusCode::kInternal)
        text = "Internal error in tool \"" + name + "\": " + text +
               ". This is a server defect; the server log has details.";
      // What to do next travels with what went wrong.
      if (!s.remediation().empty()) text += ". What to do: " + s.remediation();
      return Turn{is_error(std::move(text)), nullptr, ""};
    }
    ToolResult& r = *out;
    if (!r.input_requests.is_null())
      return Turn{json::object(), std::move(r.input_requests), std::move(r.request_state)};
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
        spdlog::error("tool {} returned output that violates its outputSchema: {}", name,
                      FormatViolations(bad));
        if (options_.strict_output)
          return Turn{is_error("Internal error in tool \"" + name +
                               "\": its output violates its outputSchema: " +
                               FormatViolations(bad)),
                      nullptr, ""};
      }
    }
    return Turn{std::move(result), nullptr, ""};
  };
  Reply r = Converse(ctx, "tools/call\n" + name, attempt);
  if (!r.ok())
    return is_error("Tool \"" + name + "\" needed input from the client that it could not get: " +
                    r.status().message());
  return r;
}

Server::Reply Server::GetPrompt(CallContext& ctx, const json& params) {
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
  const Prompt& prompt = *it->second;
  return Converse(ctx, "prompts/get\n" + name, [&]() -> Result<Turn> {
    Result<json> r = prompt.handler(ctx, args);
    std::string state;
    if (json asks = ctx.TakePendingAsks(&state); !asks.is_null())
      return Turn{json::object(), std::move(asks), std::move(state)};
    if (!r.ok()) return r.status();
    if (r->is_object() && r->contains("inputRequests"))
      return Turn{json::object(), (*r)["inputRequests"], r->value("requestState", "")};
    return Turn{std::move(*r), nullptr, ""};
  });
}

bool Server::ResourceExists(const std::string& uri) const {
  if (resources_.count(uri)) return true;
  for (const auto& t : templates_)
    if (t->matcher.Match(uri)) return true;
  return false;
}

Server::Reply Server::ReadResource(const json& params, bool modern) const {
  if (!params.contains("uri") || !params["uri"].is_string())
    return InvalidArgument("Invalid params: resources/read needs a string 'uri'");
  const std::string& uri = params["uri"].get_ref<const std::string&>();
  Result<json> contents = NotFound("");
  CacheHint cache;
  if (auto it = resources_.find(uri); it != resources_.end()) {
    contents = it->second->reader(uri, {});
    cache = it->second->cache;
  } else {
    bool matched = false;
    for (const auto& t : templates_) {
      if (auto vars = t->matcher.Match(uri)) {
        contents = t->reader(uri, *vars);
        cache = t->cache;
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
  // 2026-07-28 never answers an empty contents array for a resource.
  if (modern && contents->is_array() && contents->empty())
    return NotFound("Resource not found: " + uri + " has no contents");
  json result{{"contents", std::move(*contents)}};
  if (modern) {
    result["ttlMs"] = cache.ttl_ms;
    result["cacheScope"] = cache.shared ? "public" : "private";
  }
  return result;
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
