#include "tools/checkpoint/sign.h"

#include <map>

#include "tools/checkpoint/ssh_sig.h"
#include "tools/journal/journal.h"

namespace hpc::checkpoint {
namespace {

using nlohmann::json;

// "a, b, c (+7 more)" for messages.
std::string Some(const std::vector<std::string>& items, size_t max = 8) {
  std::string out;
  for (size_t i = 0; i < items.size() && i < max; ++i)
    out += (i ? ", " : "") + items[i];
  if (items.size() > max)
    out += " (+" + std::to_string(items.size() - max) + " more)";
  return out;
}

Status Refuse(const std::string& root, const std::string& why,
              const std::string& reason, bool retry_safe,
              const std::string& remedy) {
  return FailedPrecondition("not signing " + root + ": " + why + ". " + remedy)
      .WithReason(reason, retry_safe, remedy);
}

std::string Join(const std::string& root, const std::string& rel) {
  return root + "/" + rel;
}

// The files to sign, after the refusals that need only the listing.
Result<std::vector<const Entry*>> CheckTree(const Tree& tree,
                                            const SignRequest& req,
                                            int64_t now) {
  std::vector<const Entry*> files;
  std::vector<std::string> links, odd, recent, empty_weights, weights;
  for (const auto& e : tree.entries) {
    if (IsOwnFile(e.path)) continue;
    if (e.type == EntryType::kSymlink) {
      links.push_back(e.path + " -> " + e.link_target);
      continue;
    }
    if (e.type == EntryType::kOther || !CheckRelativePath(e.path).ok()) {
      odd.push_back(e.path);
      continue;
    }
    if (e.mtime > now - req.quiet_seconds)
      recent.push_back(e.path + " (" + std::to_string(now - e.mtime) +
                       " s ago)");
    if (e.type != EntryType::kFile) continue;
    files.push_back(&e);
    if (IsWeightFile(e.path, req.weight_extensions)) {
      weights.push_back(e.path);
      if (e.size == 0) empty_weights.push_back(e.path);
    }
  }
  if (!recent.empty())
    return Refuse(
        req.root,
        "it is still being written: " + std::to_string(recent.size()) +
            " entr(ies) changed in the last " +
            std::to_string(req.quiet_seconds) + " s: " + Some(recent),
        "checkpoint_still_writing", true,
        "Wait until the run has finished writing (poll it), then sign again");
  if (!links.empty())
    return Refuse(
        req.root,
        "it holds symbolic links, whose targets a passport cannot cover: " +
            Some(links),
        "checkpoint_has_symlinks", false,
        "Replace each link by the file it points to, or sign the directory "
        "that holds the files");
  if (!odd.empty())
    return Refuse(req.root,
                  "it holds entries that are not regular files or whose names "
                  "are not UTF-8: " +
                      Some(odd),
                  "unsupported_file", false,
                  "Remove or rename them, then sign again");
  if (weights.empty()) {
    std::string exts;
    for (const auto& x : req.weight_extensions)
      exts += (exts.empty() ? "" : " ") + x;
    return Refuse(req.root, "no weight file in it (names ending " + exts + ")",
                  "no_weight_files", false,
                  "Check the path; for another weight format add its extension "
                  "to the profile's "
                  "checkpoint.weight_extensions");
  }
  if (!empty_weights.empty())
    return Refuse(req.root, "it has zero-byte shards: " + Some(empty_weights),
                  "zero_byte_shards", false,
                  "An empty shard means an interrupted save: re-save the "
                  "checkpoint, or sign an earlier one");
  return files;
}

// Whether two listings of the same files agree on every file's size and
// time; the paths that differ otherwise.
std::vector<std::string> Changed(const std::vector<const Entry*>& before,
                                 const Tree& after) {
  std::vector<std::string> out;
  for (const Entry* e : before) {
    const Entry* a = after.Find(e->path);
    if (!a || a->type != e->type || a->size != e->size || a->mtime != e->mtime)
      out.push_back(e->path);
  }
  return out;
}

}  // namespace

Result<SignOutcome> SignCheckpoint(Site& site, remote::Remote& remote,
                                   const SignRequest& req) {
  if (req.verdict != "pass" && req.reason.empty())
    return InvalidArgument("verdict " + req.verdict +
                           " needs a verdict_reason: say what is wrong, it "
                           "travels with the checkpoint");
  auto tree = site.List(req.root);
  if (!tree.ok()) return tree.status();
  auto now = site.Now();
  if (!now.ok()) return now.status();
  auto files = CheckTree(*tree, req, *now);
  if (!files.ok()) return files.status();

  std::vector<HashTask> tasks;
  for (const Entry* e : *files)
    tasks.push_back({Join(req.root, e->path), e->size});
  // The config snapshot is hashed with the files when it lies elsewhere.
  std::optional<size_t> config_index;
  std::string config_rel;
  if (!req.config_snapshot.empty()) {
    if (req.config_snapshot.rfind(req.root + "/", 0) == 0) {
      config_rel = req.config_snapshot.substr(req.root.size() + 1);
      if (!tree->Find(config_rel) ||
          tree->Find(config_rel)->type != EntryType::kFile)
        return NotFound("config_snapshot " + req.config_snapshot +
                        " is not a file in the checkpoint");
    } else {
      auto st = remote.Stat(req.config_snapshot);
      if (!st.ok())
        return st.status().code() == StatusCode::kNotFound
                   ? NotFound("config_snapshot " + req.config_snapshot +
                              " does not exist")
                   : st.status();
      if (st->is_dir)
        return InvalidArgument("config_snapshot " + req.config_snapshot +
                               " is a directory");
      config_index = tasks.size();
      tasks.push_back({req.config_snapshot, st->size});
    }
  }

  auto hashes = site.Hash(tasks, req.progress, req.stop);
  if (!hashes.ok()) return hashes.status();
  std::vector<std::string> failed;
  bool changed_size = false;
  for (size_t i = 0; i < tasks.size(); ++i)
    if (!(*hashes)[i].error.empty()) {
      failed.push_back(tasks[i].path + ": " + (*hashes)[i].error);
      changed_size |=
          (*hashes)[i].error.find("changed while") != std::string::npos;
    }
  if (changed_size)
    return Refuse(req.root,
                  "files changed while they were hashed: " + Some(failed),
                  "checkpoint_still_writing", true,
                  "Wait until the run has finished writing, then sign again");
  if (!failed.empty())
    return Refuse(
        req.root, "some files could not be hashed: " + Some(failed, 4),
        "hash_failed", true,
        "Check the files' permissions on the machine that holds them");
  // A writer that kept sizes but touched files shows up in a second look.
  auto again = site.List(req.root);
  if (!again.ok()) return again.status();
  if (auto changed = Changed(*files, *again); !changed.empty())
    return Refuse(req.root,
                  "files changed while they were hashed: " + Some(changed),
                  "checkpoint_still_writing", true,
                  "Wait until the run has finished writing, then sign again");

  SignOutcome out;
  std::vector<PassportFile> listed, weights;
  for (size_t i = 0; i < files->size(); ++i) {
    const Entry* e = (*files)[i];
    PassportFile f{e->path, e->size, (*hashes)[i].sha256,
                   IsWeightFile(e->path, req.weight_extensions)};
    out.total_bytes += f.size;
    if (f.weight) weights.push_back(f);
    if (e->path == config_rel) config_index = i;
    listed.push_back(std::move(f));
  }
  Provenance prov = req.provenance;
  if (config_index) {
    prov.config_path = req.config_snapshot;
    prov.config_sha256 = (*hashes)[*config_index].sha256;
  }
  const std::string now_utc = journal::NowUtc();
  json passport = MakePassport(req.root, listed, req.weight_extensions, prov,
                               now_utc, req.input_contract);
  if (std::string v = PassportViolations(passport); !v.empty())
    return Internal("the passport breaks schemas/model_passport.json: " + v);
  const std::string passport_bytes = Serialize(passport);
  out.passport_sha256 = Sha256Hex(passport_bytes);
  json signoff = MakeSignoff(req.verdict, req.reason, req.signer, now_utc,
                             req.root, prov.run_id, out.passport_sha256,
                             weights, !req.signing_key.empty());
  if (std::string v = SignoffViolations(signoff); !v.empty())
    return InvalidArgument("the sign-off would break schemas/signoff.json: " +
                           v);
  const std::string signoff_bytes = Serialize(signoff);
  std::string signature;
  if (!req.signing_key.empty()) {
    auto sig = SshSign(signoff_bytes, req.signing_key, kSignatureNamespace);
    if (!sig.ok()) return sig.status();
    signature = std::move(*sig);
  }

  out.passport_path = Join(req.root, kPassportFile);
  out.signoff_path = Join(req.root, kSignoffFile);
  HPC_RETURN_IF_ERROR(
      remote.WriteFileAtomic(out.passport_path, passport_bytes));
  const std::string sig_path = Join(req.root, kSignatureFile);
  if (signature.empty()) {
    // A signature of an earlier sign-off would no longer verify.
    remote::RunOptions o;
    o.login_shell = false;
    auto rm = remote.Run({"rm", "-f", "--", sig_path}, o);
    if (!rm.ok()) return rm.status();
  } else {
    out.signature_path = sig_path;
  }
  HPC_RETURN_IF_ERROR(remote.WriteFileAtomic(out.signoff_path, signoff_bytes));
  if (!signature.empty())
    HPC_RETURN_IF_ERROR(remote.WriteFileAtomic(sig_path, signature));
  out.files = listed.size();
  out.weight_files = weights.size();
  out.hashed_on = site.Describe();
  return out;
}

}  // namespace hpc::checkpoint
