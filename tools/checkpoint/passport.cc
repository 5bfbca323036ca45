#include "tools/checkpoint/passport.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "mcp_server/assets.h"
#include "mcp_server/json_rpc.h"
#include "mcp_server/schema.h"
#include "tools/registry.h"

namespace hpc::checkpoint {
namespace {

using nlohmann::json;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

template <typename T>
json OrNull(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

}  // namespace

std::vector<std::string> WeightExtensions(const json& profile_raw) {
  std::vector<std::string> out{".safetensors", ".bin", ".pt", ".pth", ".ckpt"};
  if (profile_raw.is_object() && profile_raw.contains("checkpoint")) {
    const json& c = profile_raw["checkpoint"];
    if (c.is_object() && c.contains("weight_extensions") &&
        c["weight_extensions"].is_array())
      for (const auto& e : c["weight_extensions"])
        if (e.is_string()) {
          std::string ext = Lower(e.get<std::string>());
          if (std::find(out.begin(), out.end(), ext) == out.end())
            out.push_back(ext);
        }
  }
  return out;
}

bool IsWeightFile(std::string_view path,
                  const std::vector<std::string>& extensions) {
  size_t slash = path.rfind('/');
  std::string name =
      Lower(slash == std::string_view::npos ? path : path.substr(slash + 1));
  for (const auto& ext : extensions)
    if (name.size() > ext.size() &&
        name.compare(name.size() - ext.size(), ext.size(), ext) == 0)
      return true;
  return false;
}

bool IsOwnFile(std::string_view rel) {
  for (std::string_view own : {kPassportFile, kSignoffFile, kSignatureFile}) {
    if (rel == own) return true;
    // remote::TempNameBeside: ".<name>.hpc-tmp-<suffix>".
    std::string tmp = "." + std::string(own) + ".hpc-tmp-";
    if (rel.substr(0, tmp.size()) == tmp) return true;
  }
  return false;
}

Status CheckRelativePath(std::string_view rel) {
  if (rel.empty()) return InvalidArgument("an empty path");
  try {
    (void)json(std::string(rel)).dump();
  } catch (const std::exception&) {
    return InvalidArgument(
        "a name that is not UTF-8 (JSON cannot hold it as is)");
  }
  if (rel.find('\0') != std::string_view::npos)
    return InvalidArgument("a NUL byte in the path");
  if (rel.front() == '/') return InvalidArgument("an absolute path");
  size_t start = 0;
  for (;;) {
    size_t slash = rel.find('/', start);
    std::string_view part = rel.substr(
        start, slash == std::string_view::npos ? slash : slash - start);
    if (part.empty()) return InvalidArgument("an empty path component");
    if (part == "..")
      return InvalidArgument("a '..' component (it would leave the root)");
    if (part == ".") return InvalidArgument("a '.' component");
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return Status::Ok();
}

json MakePassport(const std::string& root,
                  const std::vector<PassportFile>& files,
                  const std::vector<std::string>& extensions,
                  const Provenance& p, const std::string& created_at,
                  const json& input_contract) {
  json list = json::array();
  uint64_t total = 0;
  int weights = 0;
  for (const auto& f : files) {
    list.push_back({{"path", f.path},
                    {"size", f.size},
                    {"sha256", f.sha256},
                    {"weight", f.weight}});
    total += f.size;
    weights += f.weight;
  }
  json prov{{"run_id", OrNull(p.run_id)},
            {"job_id", OrNull(p.job_id)},
            {"profile", p.profile},
            {"git_commit", OrNull(p.git_commit)},
            {"config_snapshot", nullptr}};
  if (!p.run_state.empty()) prov["run_state"] = p.run_state;
  if (p.git_dirty) prov["git_dirty"] = *p.git_dirty;
  if (p.config_path && p.config_sha256)
    prov["config_snapshot"] = {{"path", *p.config_path},
                               {"sha256", *p.config_sha256}};
  json doc{{"schema", "hpc-mcp/model-passport"},
           {"schema_version", kPassportVersion},
           {"created_at", created_at},
           {"created_by", std::string("hpc-mcp ") + HPC_MCP_VERSION},
           {"checkpoint",
            {{"root", root},
             {"file_count", files.size()},
             {"weight_file_count", weights},
             {"total_bytes", total}}},
           {"weight_extensions", extensions},
           {"files", std::move(list)},
           {"provenance", std::move(prov)}};
  if (input_contract.is_object()) doc["input_contract"] = input_contract;
  return doc;
}

json MakeSignoff(const std::string& verdict, const std::string& reason,
                 const std::string& signer, const std::string& signed_at,
                 const std::string& root,
                 const std::optional<std::string>& run_id,
                 const std::string& passport_sha256,
                 const std::vector<PassportFile>& weights,
                 bool signed_with_key) {
  json w = json::array();
  for (const auto& f : weights)
    w.push_back({{"path", f.path}, {"sha256", f.sha256}});
  json doc{{"schema", "hpc-mcp/checkpoint-signoff"},
           {"schema_version", kSignoffVersion},
           {"verdict", verdict},
           {"verdict_reason", reason},
           {"signed_at", signed_at},
           {"signer", signer},
           {"checkpoint_root", root},
           {"run_id", OrNull(run_id)},
           {"passport_sha256", passport_sha256},
           {"weights", std::move(w)}};
  if (signed_with_key)
    doc["signature"] = {{"format", "sshsig"},
                        {"namespace", kSignatureNamespace},
                        {"file", kSignatureFile}};
  return doc;
}

std::string Serialize(const json& doc) {
  // Replacement of invalid UTF-8 instead of a throw: paths are bytes.
  return doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string PassportViolations(const json& doc) {
  return mcp::FormatViolations(tools::HpcSchema("schemas/model_passport.json").Validate(doc));
}

std::string SignoffViolations(const json& doc) {
  return mcp::FormatViolations(tools::HpcSchema("schemas/signoff.json").Validate(doc));
}

}  // namespace hpc::checkpoint
