// write_run_log: a run's markdown log in the repository, kept from the
// journal (tools/runlog/actions.h does the work; markers.h says which text
// is the server's and which a person's).
#include "mcp_server/registration.h"
#include "tools/registry.h"
#include "tools/runlog/actions.h"
#include "tools/workspace/repo.h"

namespace hpc::tools {
namespace {

using nlohmann::json;

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

Result<mcp::ToolResult> WriteRunLog(mcp::RequestContext& ctx,
                                    const json& args) {
  auto repo = workspace::ResolveRepo(ctx, args);
  if (!repo.ok()) return repo.status();
  auto out = runlog::WriteRunLog(*repo, args);
  if (!out.ok()) return out.status();
  json structured{{"run_id", out->run_id},
                  {"action", out->action},
                  {"path", out->path},
                  {"files_written", out->files},
                  {"sections", out->sections}};
  std::string text = out->action + " " + out->run_id + ": ";
  if (out->action == "publish") {
    structured["published"] = out->published;
    text += "wrote " + out->published + " (sanitized from " + out->path + ")";
  } else {
    text += out->files.empty() ? out->path + " unchanged"
                               : "wrote " + Join(out->files);
    if (!out->sections.empty())
      text += "; sections of " + out->path + ": " + Join(out->sections);
  }
  if (!out->entry.empty()) {
    structured["entry"] = out->entry;
    text += "\nstatus " + out->entry;
  }
  if (!out->warnings.empty()) {
    structured["warnings"] = out->warnings;
    for (const auto& w : out->warnings) text += "\nwarning: " + w;
  }
  mcp::ToolResult r;
  r.content = json::array({{{"type", "text"}, {"text", text}}});
  r.structured = std::move(structured);
  return r;
}

}  // namespace

Status RegisterWriteRunLog(mcp::Server& server) {
  return mcp::AddToolFromAssets(server, HpcAssets(), "schemas/tools",
                                "write_run_log", WriteRunLog);
}

}  // namespace hpc::tools
