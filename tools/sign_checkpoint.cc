// sign_checkpoint: MODEL_PASSPORT.json + SIGNOFF.json (+ an SSH signature)
// for a finished run's checkpoint, hashed where it lives
// (tools/checkpoint/sign.h does the work).
#include <chrono>

#include "mcp_server/registration.h"
#include "tools/checkpoint/git_state.h"
#include "tools/checkpoint/sign.h"
#include "tools/checkpoint/target.h"
#include "tools/registry.h"
#include "tools/runlog/actions.h"

namespace hpc::tools {
namespace {

using nlohmann::json;

// The scheduler's id of the run's main job (else its first job).
std::optional<std::string> MainJobId(const runs::Run& run) {
  const runs::Attempt* a = run.current();
  if (!a || a->jobs.empty()) return std::nullopt;
  const runs::Job* j = a->Find("main");
  if (!j) j = &a->jobs.front();
  if (j->job_id.empty()) return std::nullopt;
  return j->job_id;
}

Result<mcp::ToolResult> SignCheckpoint(mcp::RequestContext& ctx,
                                       const json& args) {
  const auto start = std::chrono::steady_clock::now();
  auto t = checkpoint::OpenTarget(ctx, args, /*from_signoff=*/false,
                                  runs::Intent::kChange);
  if (!t.ok()) return t.status();
  if (t->run && t->run->active())
    return FailedPrecondition("not signing: run " + t->run->id + " is still " +
                              t->run->state +
                              " per the journal, so it may still be writing "
                              "the checkpoint. Poll it; sign "
                              "once it has ended")
        .WithReason("checkpoint_still_writing", true,
                    "poll the run until it has ended, then sign");

  checkpoint::SignRequest req;
  req.root = t->root;
  req.verdict = args["verdict"];
  req.reason = args.value("verdict_reason", "");
  req.signer = args.contains("signer") ? args["signer"].get<std::string>()
                                       : checkpoint::DefaultSigner(t->repo);
  if (req.signer.empty())
    return InvalidArgument(
        "no signer: give `signer` (e-mail or user name); neither git "
        "user.email nor $USER is set");
  if (args.contains("signing_key")) {
    auto key = checkpoint::ExpandLocalPath(args["signing_key"], "signing_key");
    if (!key.ok()) return key.status();
    req.signing_key = *key;
  }
  req.weight_extensions = t->weight_extensions;
  auto& p = req.provenance;
  p.profile = t->cluster->profile.name;
  if (t->run) {
    p.run_id = t->run->id;
    p.job_id = MainJobId(*t->run);
    p.run_state = t->run->state;
  }
  checkpoint::GitState git = checkpoint::ReadGitState(t->repo);
  p.git_commit = git.commit;
  p.git_dirty = git.dirty;
  std::string config = args.value("config_snapshot", "");
  if (config.empty() && t->run && t->run->links.contains("config_snapshot") &&
      t->run->links["config_snapshot"].is_string())
    config = t->run->links["config_snapshot"];
  if (!config.empty()) {
    auto checked = t->cluster->CheckPath(config);
    if (!checked.ok()) return checked.status();
    req.config_snapshot = *checked;
  }
  if (args.contains("input_contract"))
    req.input_contract = args["input_contract"];
  req.stop = ctx.stop_token();
  req.progress = checkpoint::HashProgress(ctx);

  auto out = checkpoint::SignCheckpoint(*t->site, *t->cluster->remote, req);
  if (!out.ok()) return out.status();
  std::string run_log, run_log_warning;
  if (t->run) {
    Status s = t->store->Append(t->run->id, "linked",
                                {{"kind", "checkpoint_signoff"},
                                 {"value", out->signoff_path},
                                 {"verdict", req.verdict},
                                 {"reason", req.reason},
                                 {"passport_sha256", out->passport_sha256}});
    if (!s.ok())
      return Status(s.code(), "signed " + t->root +
                                  ", but the journal did not record it: " +
                                  s.message() + "; signing again is harmless");
    // The verdict belongs in the run's Results now: a sign-off is often the
    // last thing done to a run, and no later write_run_log call may come.
    auto log = runlog::RefreshRunLog(t->repo, t->run->id);
    if (!log.ok())
      run_log_warning =
          "the run log was not rewritten: " + log.status().message() +
          "; any write_run_log call on the run writes it";
    else
      run_log = log->path;
  }

  json s{{"path", t->root},
         {"passport_path", out->passport_path},
         {"signoff_path", out->signoff_path},
         {"passport_sha256", out->passport_sha256},
         {"verdict", req.verdict},
         {"signer", req.signer},
         {"signed", !out->signature_path.empty()},
         {"files", out->files},
         {"weight_files", out->weight_files},
         {"total_bytes", out->total_bytes},
         {"git_commit", git.commit ? json(*git.commit) : json(nullptr)},
         {"hashed_on", out->hashed_on},
         {"seconds", checkpoint::SecondsSince(start)}};
  if (t->run) s["run_id"] = t->run->id;
  if (!out->signature_path.empty()) s["signature_path"] = out->signature_path;
  if (!run_log.empty()) s["run_log"] = run_log;
  std::string text =
      "signed off " + t->root + " as " + req.verdict + " by " + req.signer +
      ": " + std::to_string(out->files) + " file(s), " +
      std::to_string(out->weight_files) + " weight file(s), " +
      checkpoint::GiB(out->total_bytes) + " hashed on " + out->hashed_on +
      "\n" + out->passport_path + " (sha256 " + out->passport_sha256 + ")\n" +
      out->signoff_path +
      (out->signature_path.empty()
           ? " (no SSH signature: give signing_key to add one)"
           : "\n" + out->signature_path + " (ssh-keygen -Y verify)");
  if (!git.commit)
    text +=
        "\nnote: the repository has no git commit; the passport records none";
  if (git.dirty.value_or(false))
    text += "\nnote: the repository had uncommitted changes (git_dirty)";
  if (!run_log.empty()) text += "\nrun log " + run_log + " shows the sign-off";
  if (!run_log_warning.empty()) text += "\nwarning: " + run_log_warning;
  auto r = mcp::ToolResult::Text(std::move(text));
  r.structured = std::move(s);
  return r;
}

}  // namespace

Status RegisterSignCheckpoint(mcp::Server& server) {
  return mcp::AddToolFromAssets(server, HpcAssets(), "schemas/tools",
                                "sign_checkpoint", SignCheckpoint);
}

}  // namespace hpc::tools
