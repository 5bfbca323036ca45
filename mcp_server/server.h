// The MCP server: registries of tools, prompts and resources, the lifecycle,
// and request dispatch. It knows no transport and no HPC tool.
//
// Registration happens before serving (not thread-safe); after the first
// session is created the registries are frozen and read without locks.
// Dispatch is thread-safe. Requests that may take time (tools/call,
// prompts/get, resources/read, completion/complete) run on a bounded worker
// pool, so a slow tool never blocks ping, other calls or cancellation; no
// lock is held while a handler runs.
//
// Error channels are decided in exactly one place, Server::CallTool: a
// malformed request or an unknown tool is a JSON-RPC error; anything that
// goes wrong inside a tool, including invalid arguments, is an `isError`
// result the model can act on. (The one exception the 2026-07-28 revision
// makes, a tool needing a client capability the request did not declare,
// is decided there too.)
//
// Both protocol eras (era.h) share every registry: a tool, prompt or
// resource is defined once and served to legacy sessions and modern
// requests alike.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "mcp_server/era.h"
#include "mcp_server/json_rpc.h"
#include "mcp_server/request_state.h"
#include "mcp_server/schema.h"
#include "mcp_server/session.h"
#include "mcp_server/status.h"
#include "mcp_server/thread_pool.h"
#include "mcp_server/tool.h"

namespace hpc::mcp {

struct ServerOptions {
  std::string name = "hpc-mcp";
  std::string title;
  std::string version = "0.0.0";
  std::string instructions;  // Returned by initialize and server/discover.
  size_t page_size = 50;     // Items per page of every */list.
  // Caching hints (2026-07-28) on server/discover and the lists: how long a
  // client may reuse them. The lists name no user's data: cacheScope public.
  int64_t list_ttl_ms = 300000;
  // Declared as listChanged in the capabilities; NotifyListChanged then
  // tells legacy sessions and modern listeners.
  bool tools_list_changed = false;
  bool prompts_list_changed = false;
  bool resources_list_changed = false;
  // HMAC key for the requestState of input-required results; empty: a
  // random one per process (see request_state.h).
  std::string request_state_key;
  size_t min_workers = 1;
  size_t max_workers = 32;
  // Output that violates a tool's outputSchema is always logged as an error;
  // when strict (tests), the call also fails with isError.
  bool strict_output = false;
  // Serve only the tools whose definition says annotations.readOnlyHint:
  // true. The others are withheld: absent from tools/list, and a call to one
  // is answered exactly as a call to an unknown tool, so that no client can
  // tell them apart from tools that do not exist.
  bool read_only = false;
  // Wraps each tool's handler as AddTool takes it (`definition`: the full
  // MCP Tool object), so that a binary can add behaviour to every tool in
  // one place; hpc-mcp audits mutating calls with it. Calls refused by
  // input validation never reach the wrapper.
  std::function<ToolHandler(const json& definition, ToolHandler handler)>
      wrap_tool;
  // Rewrites every tools/call result ({content, structuredContent?,
  // isError?}), isError ones included, just before it is sent; hpc-mcp
  // redacts secrets with it.
  std::function<void(json& result)> finish_tool_result;
};

// Returns {messages:[...], description?} for prompts/get; or, when the
// prompt needs the client's input first, {inputRequests, requestState?}
// (see RequestContext::InputResponses).
using PromptHandler =
    std::function<Result<json>(RequestContext& ctx, const json& arguments)>;
// Returns the `contents` array of resources/read. `vars` holds the values of
// a template's variables (empty for a fixed resource).
using ResourceReader = std::function<Result<json>(
    const std::string& uri, const std::map<std::string, std::string>& vars)>;
// Returns candidate values for `argument` starting with `prefix`.
using Completer = std::function<std::vector<std::string>(
    const std::string& argument, const std::string& prefix,
    const json& context_arguments)>;

// How long, and by whom, a resource's contents may be cached (2026-07-28
// ttlMs and cacheScope on resources/read). The default suits anything
// about a user's jobs: private, and stale at once.
struct CacheHint {
  int64_t ttl_ms = 0;
  bool shared = false;  // cacheScope "public" instead of "private".
};

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // --- Registration (before serving) ---

  // `definition` is the full MCP Tool object (name, title, description,
  // annotations, inputSchema, outputSchema?). Fails if it does not match
  // the tool-definition schema, a schema does not compile, or the name is
  // taken. With options().read_only, a tool that is not read-only is checked
  // the same way, then withheld (see ServerOptions::read_only).
  Status AddTool(json definition, ToolHandler handler,
                 Execution execution = Execution::kPool);
  Status AddPrompt(json definition, PromptHandler handler);
  // A prompt from a markdown file (see prompts.h).
  Status AddPromptFile(std::string_view markdown, std::string_view source);
  // `descriptor`: {uri, name, title?, description?, mimeType?}.
  Status AddResource(json descriptor, ResourceReader reader, CacheHint cache = {});
  // `descriptor`: {uriTemplate, name, ...}; variables are RFC 6570 level 1
  // ({id}), each matching one non-empty path segment.
  Status AddResourceTemplate(json descriptor, ResourceReader reader,
                             CacheHint cache = {});
  // `ref_type` is "ref/prompt" (name = prompt name) or "ref/resource"
  // (name = uri template).
  void AddCompleter(std::string ref_type, std::string name, Completer c);

  // --- Serving ---

  // A new session; `id` is the HTTP session id, empty on stdio.
  std::shared_ptr<Session> NewSession(std::string id);
  // Cancels what the session has in flight and forgets it.
  void CloseSession(const std::shared_ptr<Session>& session);

  // Handles one parsed message or batch from `session`'s client. Responses
  // and related notifications go to `reply`. Never throws.
  void Handle(const std::shared_ptr<Session>& session, const json& parsed,
              const std::shared_ptr<Outbound>& reply);
  // Handles one line/body of text: a parse error is answered with -32700.
  void HandleText(const std::shared_ptr<Session>& session,
                  std::string_view text, const std::shared_ptr<Outbound>& reply);

  // Whether Handle(parsed) will answer with a response (as opposed to
  // accepting a notification or a client's response silently).
  static bool ExpectsResponse(const json& parsed);

  // Tells subscribed sessions and listeners that `uri` changed.
  void NotifyResourceUpdated(const std::string& uri);
  // Tells legacy sessions and modern listeners that a list changed: `list`
  // is "tools", "prompts" or "resources". Only for a list the options
  // declare listChanged for.
  void NotifyListChanged(std::string_view list);

  // Cancels everything in flight and stops the workers. Idempotent.
  void Shutdown();

  const ServerOptions& options() const { return options_; }
  json Capabilities() const;
  // Whether a tool of this name was added, served or withheld.
  bool HasTool(const std::string& name) const {
    return tools_.count(name) > 0 || withheld_tools_.count(name) > 0;
  }
  // The tools withheld by ServerOptions::read_only, by name.
  const std::set<std::string>& withheld_tools() const {
    return withheld_tools_;
  }

 private:
  struct Tool;
  struct Prompt;
  struct Resource;
  struct Template;
  struct Listener;
  struct Turn;
  class CallContext;
  class BatchReply;
  using Reply = Result<json>;  // Non-OK: mapped by RpcErrorFor.

  void HandleOne(const std::shared_ptr<Session>& session, const json& message,
                 const std::shared_ptr<Outbound>& reply);
  void HandleRequest(const std::shared_ptr<Session>& session,
                     const json& request, const std::shared_ptr<Outbound>& reply);
  // A request on a stream no initialize opened (era.h).
  void HandleModern(const std::shared_ptr<Session>& session, const json& request,
                    const std::shared_ptr<Outbound>& reply);
  // Adds resultType and the server's identity to a modern result.
  json Finish(json result) const;
  json ServerInfo() const;
  void HandleNotification(const std::shared_ptr<Session>& session,
                          const json& notification);
  // Runs tools/call, prompts/get, resources/read and completion/complete:
  // on the pool, or inline for a tool registered with Execution::kInline.
  void RunCall(const std::shared_ptr<Session>& session, const json& request,
               const std::shared_ptr<Outbound>& reply, std::shared_ptr<const Peer> peer);
  void Execute(const std::shared_ptr<Session>& session, const json& request,
               const std::shared_ptr<Outbound>& reply,
               const std::shared_ptr<InFlight>& in_flight, const std::string& key,
               const std::shared_ptr<const Peer>& peer);
  bool RunsInline(const std::string& method, const json& params) const;

  // Method handlers. `ctx` is null for inline methods.
  Reply Initialize(Session& session, const json& params);
  Reply ListTools(const json& params) const;
  Reply CallTool(CallContext& ctx, const json& params);
  Reply ListPrompts(const json& params) const;
  Reply GetPrompt(CallContext& ctx, const json& params);
  Reply ListResources(const json& params) const;
  Reply ListTemplates(const json& params) const;
  Reply ReadResource(const json& params, bool modern) const;
  Reply Discover() const;
  // Opens a modern subscriptions/listen stream: acknowledges it and keeps it
  // until the client cancels it or the server shuts down.
  void Listen(const std::shared_ptr<Session>& session, const json& request,
              const std::shared_ptr<Outbound>& reply);
  // Sends `notification` (its params get the subscription id) to the live
  // listeners `wants` selects, and forgets cancelled ones.
  void Broadcast(const std::function<bool(const Listener&)>& wants,
                 const std::string& method, const json& params);
  // Runs `attempt` until it needs no more input: a modern request gets the
  // input-required result, a legacy one has the server ask the client
  // (server-to-client requests) and attempt again.
  Reply Converse(CallContext& ctx, const std::string& scope,
                 const std::function<Result<Turn>()>& attempt);
  // Hands a modern request's inputResponses and (verified) requestState to
  // `ctx`; the error when they are malformed or the state was altered.
  std::optional<RpcError> ReadInput(CallContext& ctx, const std::string& scope,
                                    const json& params) const;
  Reply Subscribe(Session& session, const json& params, bool on);
  Reply SetLevel(Session& session, const json& params);
  Reply Complete(const json& params) const;

  Reply Page(const std::vector<json>& items, const char* key,
             const json& params) const;
  bool ResourceExists(const std::string& uri) const;
  void Freeze();

  ServerOptions options_;
  std::shared_ptr<JsonSchema> tool_definition_schema_;
  std::map<std::string, std::shared_ptr<Tool>> tools_;  // The served ones.
  std::set<std::string> withheld_tools_;
  std::vector<json> tool_list_;
  std::map<std::string, std::shared_ptr<Prompt>> prompts_;
  std::vector<json> prompt_list_;
  std::map<std::string, std::shared_ptr<Resource>> resources_;
  std::vector<json> resource_list_;
  std::vector<std::shared_ptr<Template>> templates_;
  std::vector<json> template_list_;
  std::map<std::string, Completer> completers_;
  RequestStateSealer sealer_;
  std::mutex listeners_mu_;
  std::vector<std::shared_ptr<Listener>> listeners_;
  std::atomic<bool> frozen_{false};
  json capabilities_;  // Computed by Freeze.
  json server_info_;   // Computed by Freeze.

  ThreadPool pool_;
  std::mutex sessions_mu_;
  std::vector<std::weak_ptr<Session>> sessions_;
  std::atomic<bool> shut_down_{false};
};

}  // namespace hpc::mcp
