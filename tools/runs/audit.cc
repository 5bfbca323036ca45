#include "tools/runs/audit.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <exception>
#include <set>
#include <string>

#include "mcp_server/redact.h"
#include "tools/runs/store.h"
#include "tools/workspace/repo.h"

namespace hpc::runs {
namespace {

using nlohmann::json;

constexpr size_t kMaxArgumentString = 4096;

// `args` fit for the journal: redacted, long strings (a script) cut.
json AuditArguments(json args) {
  mcp::RedactJson(args);
  auto clip = [](auto& self, json& v) -> void {
    if (v.is_string()) {
      const std::string& s = v.get_ref<const std::string&>();
      if (s.size() > kMaxArgumentString)
        v = s.substr(0, kMaxArgumentString) + "…(" + std::to_string(s.size()) +
            " bytes)";
    } else if (v.is_structured()) {
      for (auto& item : v) self(self, item);
    }
  };
  clip(clip, args);
  return args;
}

void CollectRunIds(const json& v, std::set<std::string>& ids, int depth) {
  if (depth > 8) return;
  if (v.is_object()) {
    for (const auto& [key, member] : v.items()) {
      if (key == "run_id" && member.is_string() &&
          !member.get<std::string>().empty())
        ids.insert(member.get<std::string>());
      else if (key == "run_ids" && member.is_array())
        for (const auto& id : member)
          if (id.is_string()) ids.insert(id.get<std::string>());
      CollectRunIds(member, ids, depth + 1);
    }
  } else if (v.is_array()) {
    for (const auto& item : v) CollectRunIds(item, ids, depth + 1);
  }
}

json Who(const mcp::RequestContext& ctx) {
  json info = ctx.ClientInfo();
  json client = json::object();
  if (info.is_object())
    for (const char* k : {"name", "version"})
      if (info.contains(k) && info[k].is_string()) client[k] = info[k];
  return client;
}

std::string Session(const mcp::RequestContext& ctx) {
  // A 2026-07-28 request belongs to no session: each one stands alone.
  const std::string id = ctx.SessionId();
  if (!id.empty()) return id.substr(0, 8) + "…";
  return ctx.Modern() ? "stateless" : "stdio";
}

// The outcome fields of a call that answered `out`.
void Outcome(const Result<mcp::ToolResult>& out, json& event) {
  if (!out.ok()) {
    const Status& s = out.status();
    json error{{"code", StatusCodeName(s.code())}, {"message", s.message()}};
    if (!s.reason().empty()) error["reason"] = s.reason();
    event["outcome"] = "error";
    event["error"] = std::move(error);
    return;
  }
  std::set<std::string> ids;
  CollectRunIds(out->structured, ids, 0);
  event["run_ids"] = ids;
  if (!out->is_error) {
    event["outcome"] = "ok";
    return;
  }
  std::string text;
  for (const auto& c : out->content)
    if (c.is_object() && c.value("type", "") == "text")
      text += c.value("text", "");
  event["outcome"] = "error";
  event["error"] = {{"code", "tool_error"}, {"message", text}};
}

void Append(const std::string& repo, const std::string& tool, json event) {
  auto store = RunStore::ForRepo(repo);
  Status s = store.ok() ? (*store)->Append("", "audit", std::move(event))
                        : store.status();
  if (!s.ok())
    spdlog::warn("audit: the call of {} was not journaled in {}: {}", tool,
                 repo, s.message());
}

}  // namespace

mcp::ToolHandler Audited(const json& definition, mcp::ToolHandler handler) {
  const json annotations = definition.value("annotations", json::object());
  if (annotations.value("readOnlyHint", false)) return handler;
  const std::string tool = definition.value("name", "");
  return [tool, handler = std::move(handler)](
             mcp::RequestContext& ctx,
             const json& args) -> Result<mcp::ToolResult> {
    // Resolved before the call: a cancelled call could no longer ask the
    // client for its roots.
    auto repo = workspace::ResolveRepo(ctx, args);
    const auto start = std::chrono::steady_clock::now();
    json event{{"tool", tool},
               {"client", Who(ctx)},
               {"session", Session(ctx)},
               {"arguments", AuditArguments(args)}};
    auto finish = [&] {
      event["duration_ms"] =
          std::chrono::duration_cast<std::chrono::milliseconds>(
              std::chrono::steady_clock::now() - start)
              .count();
      if (repo.ok())
        Append(*repo, tool, std::move(event));
      else
        spdlog::debug("audit: the call of {} names no repository: {}", tool,
                      repo.status().message());
    };
    Result<mcp::ToolResult> out = Internal("unreachable");
    try {
      out = handler(ctx, args);
    } catch (const std::exception& e) {
      event["outcome"] = "error";
      event["error"] = {{"code", "internal"},
                        {"message", std::string("threw: ") + e.what()}};
      finish();
      throw;  // The server answers it as it answers any tool that throws.
    } catch (...) {
      event["outcome"] = "error";
      event["error"] = {{"code", "internal"},
                        {"message", "threw a non-exception"}};
      finish();
      throw;
    }
    Outcome(out, event);
    finish();
    return out;
  };
}

}  // namespace hpc::runs
