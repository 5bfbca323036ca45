// verify_checkpoint: a checkpoint against its passport and sign-off, one
// observation per check (tools/checkpoint/verify.h does the work).
#include <chrono>

#include "mcp_server/registration.h"
#include "tools/checkpoint/target.h"
#include "tools/checkpoint/verify.h"
#include "tools/registry.h"

namespace hpc::tools {
namespace {

using nlohmann::json;

Result<mcp::ToolResult> VerifyCheckpoint(mcp::RequestContext& ctx,
                                         const json& args) {
  const auto start = std::chrono::steady_clock::now();
  auto t = checkpoint::OpenTarget(ctx, args, /*from_signoff=*/true,
                                  runs::Intent::kObserve);
  if (!t.ok()) return t.status();
  checkpoint::VerifyRequest req;
  req.root = t->root;
  req.require_signoff = args.value("require_signoff", false);
  if (args.contains("allowed_signers")) {
    auto f =
        checkpoint::ExpandLocalPath(args["allowed_signers"], "allowed_signers");
    if (!f.ok()) return f.status();
    req.allowed_signers = *f;
  }
  req.weight_extensions = t->weight_extensions;
  req.stop = ctx.stop_token();
  req.progress = checkpoint::HashProgress(ctx);
  auto rep = checkpoint::VerifyCheckpoint(*t->site, *t->cluster->remote, req);
  if (!rep.ok()) return rep.status();

  json checks = json::array();
  std::string lines;
  for (const auto& c : rep->checks) {
    json o{{"check", c.check}, {"status", c.status}, {"detail", c.detail}};
    if (!c.paths.empty()) o["paths"] = c.paths;
    checks.push_back(std::move(o));
    lines += "\n" + c.status + " " + c.check + ": " + c.detail;
    for (size_t i = 0; i < c.paths.size() && i < 5; ++i)
      lines += "\n    " + c.paths[i];
    if (c.paths.size() > 5) lines += "\n    ...";
  }
  json s{{"path", t->root},
         {"verdict", rep->verdict},
         {"ok", rep->verdict != "fail"},
         {"checks", std::move(checks)},
         {"files_listed", rep->files_listed},
         {"bytes_hashed", rep->bytes_hashed},
         {"hashed_on", rep->hashed_on},
         {"seconds", checkpoint::SecondsSince(start)}};
  if (!rep->passport_sha256.empty())
    s["passport_sha256"] = rep->passport_sha256;
  if (rep->signoff.is_object()) s["signoff"] = rep->signoff;
  auto r = mcp::ToolResult::Text(rep->verdict + ": " + t->root + lines);
  r.structured = std::move(s);
  return r;
}

}  // namespace

Status RegisterVerifyCheckpoint(mcp::Server& server) {
  return mcp::AddToolFromAssets(server, HpcAssets(), "schemas/tools",
                                "verify_checkpoint", VerifyCheckpoint);
}

}  // namespace hpc::tools
