#include "tools/checkpoint/verify.h"

#include <iterator>
#include <map>
#include <optional>

#include "mcp_server/json_rpc.h"
#include "tools/checkpoint/passport.h"
#include "tools/checkpoint/ssh_sig.h"
#include "tools/checkpoint/tree_checks.h"
#include "tools/remote/read_file.h"

namespace hpc::checkpoint {
namespace {

using nlohmann::json;

constexpr uint64_t kMaxDocBytes = 256ull << 20;  // A passport of ~1M files.

// A file of our own format in the tree: its entry must be a regular file.
// nullopt when absent; a Status error when unreadable or not a file.
Result<std::optional<std::string>> ReadOwn(remote::Remote& remote,
                                           const Tree& tree, const char* name) {
  const Entry* e = tree.Find(name);
  if (!e) return std::optional<std::string>();
  if (e->type != EntryType::kFile)
    return FailedPrecondition(std::string(name) + " is not a regular file" +
                              (e->type == EntryType::kSymlink
                                   ? " (a symlink to " + e->link_target + ")"
                                   : ""));
  const std::string path = tree.root + "/" + name;
  if (e->size > kMaxDocBytes)
    return ResourceExhausted(path + " is larger than " +
                             std::to_string(kMaxDocBytes) + " bytes");
  auto bytes = remote::ReadWhole(remote, path, e->size);
  if (!bytes.ok()) return bytes.status();
  return std::optional<std::string>(std::move(*bytes));
}

// A JSON document of our own format (passport, sign-off) from the tree.
struct Doc {
  bool found = false;
  std::string bytes;  // As read; empty unless found.
  json valid;         // The parsed document, null unless it meets its schema.
  std::string error;  // Why it is unusable: unreadable, or found but invalid.
};

Doc ReadDoc(remote::Remote& remote, const Tree& tree, const char* name,
            int newest_version, std::string (*violations)(const json&),
            const char* schema) {
  Doc d;
  auto bytes = ReadOwn(remote, tree, name);
  if (!bytes.ok()) {
    d.error = bytes.status().message();
    return d;
  }
  if (!*bytes) return d;
  d.found = true;
  d.bytes = std::move(**bytes);
  json doc = mcp::ParseJson(d.bytes);
  std::string why;
  if (doc.is_discarded())
    why = "is not valid JSON";
  else if (doc.is_object() && doc.value("schema_version", 0) > newest_version)
    why = "has schema_version " +
          std::to_string(doc.value("schema_version", 0)) +
          ", newer than this hpc-mcp reads (" + std::to_string(newest_version) +
          ")";
  else if (std::string v = violations(doc); !v.empty())
    why = std::string("breaks ") + schema + ": " + v;
  if (why.empty())
    d.valid = std::move(doc);
  else
    d.error = std::string(name) + " " + why;
  return d;
}

Observation CheckPassport(const Doc& passport, const std::string& root) {
  if (!passport.error.empty()) return Obs("passport", kFail, passport.error);
  if (!passport.found)
    return Obs("passport", kFail,
               std::string("no ") + kPassportFile + " in " + root +
                   ": sign_checkpoint writes one");
  const json& p = passport.valid;
  return Obs(
      "passport", kPass,
      Count(p["files"].size(), "file(s) listed, ") +
          std::to_string(p["checkpoint"]["weight_file_count"].get<int64_t>()) +
          " weight file(s), created " + p["created_at"].get<std::string>());
}

Observation CheckSignoff(const Doc& signoff, bool required) {
  if (!signoff.error.empty()) return Obs("signoff", kFail, signoff.error);
  if (!signoff.found)
    return Obs(
        "signoff", required ? kFail : kNotChecked,
        std::string("no ") + kSignoffFile + (required ? " (required)" : ""));
  const json& s = signoff.valid;
  return Obs("signoff", kPass,
             "signed off by " + s["signer"].get<std::string>() + " at " +
                 s["signed_at"].get<std::string>());
}

// What the tool reports of a valid sign-off; null without one.
json Summary(const json& signoff) {
  if (signoff.is_null()) return nullptr;
  return {{"verdict", signoff["verdict"]},
          {"verdict_reason", signoff["verdict_reason"]},
          {"signer", signoff["signer"]},
          {"signed_at", signoff["signed_at"]}};
}

Observation CheckPassportHash(const json& signoff,
                              const std::string& passport_bytes,
                              const std::string& passport_sha256) {
  if (signoff.is_null() || passport_bytes.empty())
    return Obs("passport_hash", kNotChecked,
               signoff.is_null() ? "no valid sign-off" : "no passport");
  const std::string signed_sha = signoff["passport_sha256"];
  if (signed_sha == passport_sha256)
    return Obs("passport_hash", kPass,
               "the sign-off names this passport (sha256 " +
                   passport_sha256.substr(0, 16) + "...)");
  return Obs("passport_hash", kFail,
             std::string(kPassportFile) +
                 " changed after the sign-off (sha256 " +
                 passport_sha256.substr(0, 16) + "..., signed " +
                 signed_sha.substr(0, 16) + "...)");
}

Observation CheckSignoffWeights(const json& signoff, const json& passport) {
  if (signoff.is_null() || passport.is_null())
    return Obs("signoff_weights", kNotChecked,
               signoff.is_null() ? "no valid sign-off" : "no valid passport");
  std::map<std::string, std::string> listed, signed_weights;  // path -> sha.
  for (const auto& f : passport["files"])
    if (f["weight"].get<bool>()) listed[f["path"]] = f["sha256"];
  for (const auto& w : signoff["weights"])
    signed_weights[w["path"]] = w["sha256"];
  std::vector<std::string> diff;
  for (const auto& [path, sha] : listed) {
    auto it = signed_weights.find(path);
    if (it == signed_weights.end())
      diff.push_back(path + " (not in the sign-off)");
    else if (it->second != sha)
      diff.push_back(path + " (other sha256 in the sign-off)");
  }
  for (const auto& [path, sha] : signed_weights)
    if (!listed.count(path))
      diff.push_back(path + " (signed, not a weight file of the passport)");
  if (!diff.empty())
    return Obs("signoff_weights", kFail,
               "the sign-off and the passport disagree", diff);
  return Obs("signoff_weights", kPass,
             Count(listed.size(), "weight file(s) agree with the passport"));
}

Observation CheckSignoffVerdict(const json& signoff) {
  if (signoff.is_null())
    return Obs("signoff_verdict", kNotChecked, "no valid sign-off");
  const std::string v = signoff["verdict"], reason = signoff["verdict_reason"];
  const char* st = v == "pass" ? kPass : v == "soft_signal" ? kSoft : kFail;
  return Obs("signoff_verdict", st,
             "signed off as " + v + (reason.empty() ? "" : ": " + reason));
}

Observation CheckSignature(remote::Remote& remote, const Tree& tree,
                           const Doc& signoff,
                           const std::string& allowed_signers) {
  if (signoff.bytes.empty())
    return Obs("signature", kNotChecked, "no sign-off to check a signature of");
  const json& s = signoff.valid;
  if (!tree.Find(kSignatureFile)) {
    const bool expected = !s.is_null() && s.contains("signature");
    if (!expected && allowed_signers.empty())
      return Obs("signature", kNotChecked,
                 "the sign-off was not signed with a key");
    return Obs("signature", kFail,
               std::string("no ") + kSignatureFile +
                   (expected ? ", though the sign-off says it was signed"
                             : ", and allowed_signers was given"));
  }
  auto sig = ReadOwn(remote, tree, kSignatureFile);
  if (!sig.ok()) return Obs("signature", kFail, sig.status().message());
  const std::string signer = s.is_null() ? "" : s["signer"].get<std::string>();
  auto c = SshVerify(signoff.bytes, **sig, signer, allowed_signers,
                     kSignatureNamespace);
  if (!c.ok())
    return Obs("signature", kFail,
               "could not run ssh-keygen: " + c.status().message());
  if (!c->valid)
    return Obs("signature", kFail, "does not verify: " + c->message);
  if (!c->identity_checked)
    return Obs("signature", kSoft,
               "a good signature, but by a key not checked against an "
               "allowed_signers file (" +
                   c->message + "); give allowed_signers to check the signer");
  return Obs("signature", kPass, c->message);
}

const char* Worst(const std::vector<Observation>& checks) {
  bool soft = false;
  for (const auto& c : checks) {
    if (c.status == kFail) return kFail;
    soft |= c.status == kSoft;
  }
  return soft ? kSoft : kPass;
}

}  // namespace

Result<VerifyReport> VerifyCheckpoint(Site& site, remote::Remote& remote,
                                      const VerifyRequest& req) {
  auto tree = site.List(req.root);
  if (!tree.ok()) return tree.status();
  VerifyReport rep;
  rep.hashed_on = site.Describe();
  auto& checks = rep.checks;

  const Doc passport =
      ReadDoc(remote, *tree, kPassportFile, kPassportVersion,
              PassportViolations, "schemas/model_passport.json");
  if (passport.found) rep.passport_sha256 = Sha256Hex(passport.bytes);
  if (!passport.valid.is_null())
    rep.files_listed = passport.valid["files"].size();
  checks.push_back(CheckPassport(passport, req.root));
  auto listed =
      CheckListedFiles(site, *tree, passport.valid, req, &rep.bytes_hashed);
  if (!listed.ok()) return listed.status();
  checks.insert(checks.end(), std::make_move_iterator(listed->begin()),
                std::make_move_iterator(listed->end()));
  checks.push_back(CheckUnlistedFiles(*tree, passport.valid, req));

  const Doc signoff = ReadDoc(remote, *tree, kSignoffFile, kSignoffVersion,
                              SignoffViolations, "schemas/signoff.json");
  rep.signoff = Summary(signoff.valid);
  checks.push_back(CheckSignoff(signoff, req.require_signoff));
  checks.push_back(
      CheckPassportHash(signoff.valid, passport.bytes, rep.passport_sha256));
  checks.push_back(CheckSignoffWeights(signoff.valid, passport.valid));
  checks.push_back(CheckSignoffVerdict(signoff.valid));
  checks.push_back(CheckSignature(remote, *tree, signoff, req.allowed_signers));
  rep.verdict = Worst(checks);
  return rep;
}

}  // namespace hpc::checkpoint
