#include "tools/cluster/profile.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "mcp_server/assets.h"
#include "mcp_server/json_rpc.h"
#include "mcp_server/schema.h"
#include "mcp_server/yaml_json.h"
#include "tools/registry.h"

namespace hpc::cluster {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// "~/x" -> "$HOME/x"; "${VAR}" -> its value. For paths on this machine.
Result<std::string> ExpandLocal(const std::string& path, const std::string& where) {
  std::string out = path;
  if (out.rfind("~/", 0) == 0 || out == "~") {
    const char* home = std::getenv("HOME");
    if (!home) return InvalidArgument(where + " starts with ~ but HOME is not set");
    out = std::string(home) + out.substr(1);
  }
  static const std::regex kVar(R"(\$\{([A-Za-z_][A-Za-z0-9_]*)\})");
  std::string result;
  auto begin = std::sregex_iterator(out.begin(), out.end(), kVar);
  size_t last = 0;
  for (auto it = begin; it != std::sregex_iterator(); ++it) {
    const char* value = std::getenv((*it)[1].str().c_str());
    if (!value)
      return InvalidArgument(where + " uses ${" + (*it)[1].str() +
                             "}, which is not set in the server's environment");
    result += out.substr(last, it->position() - last) + value;
    last = it->position() + it->length();
  }
  return result + out.substr(last);
}

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

std::vector<std::string> Strings(const json& j, const char* key) {
  std::vector<std::string> out;
  if (auto it = j.find(key); it != j.end() && it->is_array())
    for (const auto& v : *it) out.push_back(v.get<std::string>());
  return out;
}

std::string Stem(std::string_view source) {
  std::string s(source);
  if (auto slash = s.find_last_of('/'); slash != std::string::npos) s = s.substr(slash + 1);
  if (s.size() > 5 && s.ends_with(".yaml")) s = s.substr(0, s.size() - 5);
  if (s.size() > 4 && s.ends_with(".yml")) s = s.substr(0, s.size() - 4);
  return s;
}

bool ValidName(const std::string& name) {
  static const std::regex kName("[A-Za-z0-9_.-]{1,64}");
  return std::regex_match(name, kName) && name != "." && name != "..";
}

std::vector<std::string> SearchDirs(const std::string& repo) {
  std::vector<std::string> dirs;
  if (!repo.empty()) dirs.push_back(repo + "/.hpc-mcp/profiles");
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg && *xdg)
    dirs.push_back(std::string(xdg) + "/hpc-mcp/profiles");
  else if (const char* home = std::getenv("HOME"); home && *home)
    dirs.push_back(std::string(home) + "/.config/hpc-mcp/profiles");
  return dirs;
}

std::optional<std::string> ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

Result<ClusterProfile> ParseProfile(std::string_view yaml_text, std::string_view source) {
  const std::string src(source);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    return InvalidArgument(src + ":" + std::to_string(e.mark.line + 1) +
                           ": invalid YAML: " + e.msg);
  }
  Result<json> doc = mcp::YamlToJson(yaml_text, source);
  if (!doc.ok()) return doc.status();
  if (!doc->is_object())
    return InvalidArgument(src + ":1: a profile is a YAML mapping (scheduler:, access:, ...)");
  auto violations = tools::HpcSchema("schemas/cluster_profile.json").Validate(*doc);
  if (!violations.empty()) {
    const auto& v = violations.front();
    std::string field = v.path.empty() ? "(top level)" : v.path.substr(1);
    std::replace(field.begin(), field.end(), '/', '.');
    return InvalidArgument(src + ":" + std::to_string(mcp::YamlLineOf(root, v.path, v.message)) +
                           ": " + field + ": " + v.message);
  }
  tools::HpcSchema("schemas/cluster_profile.json").ApplyDefaults(*doc);
  const json& j = *doc;
  auto fail = [&](const std::string& path, const std::string& message) {
    std::string field = path.substr(1);
    std::replace(field.begin(), field.end(), '/', '.');
    return InvalidArgument(src + ":" + std::to_string(mcp::YamlLineOf(root, path, "")) + ": " +
                           field + ": " + message);
  };

  ClusterProfile p;
  p.source = src;
  p.name = j.contains("name") ? j["name"].get<std::string>() : Stem(source);
  bool from_file = src.ends_with(".yaml") || src.ends_with(".yml");
  if (j.contains("name") && from_file && Stem(source) != p.name)
    return fail("/name", "is \"" + p.name + "\" but the file is named " + Stem(source) +
                             ".yaml; make them agree");
  p.description = Str(j, "description");
  p.read_only = j.value("read_only", false);
  p.cancel_scope = j.value("cancel_scope", "runs");
  p.scheduler = j["scheduler"];

  const json& a = j["access"];
  p.access.kind = a["kind"];
  p.access.host = Str(a, "host");
  p.access.port = a.value("port", 22);
  p.access.user = Str(a, "user");
  p.access.alias = Str(a, "alias");
  p.access.ssh_options = Strings(a, "ssh_options");
  p.access.keepalive_seconds = a.value("keepalive_seconds", 30);
  p.access.connect_timeout_seconds = a.value("connect_timeout_seconds", 10);
  for (auto [key, field] : {std::pair{"identity_file", &p.access.identity_file},
                            std::pair{"known_hosts", &p.access.known_hosts},
                            std::pair{"ssh_config", &p.access.ssh_config}}) {
    if (!a.contains(key)) continue;
    auto expanded = ExpandLocal(a[key], src + ":" +
                                            std::to_string(mcp::YamlLineOf(root, std::string("/access/") + key, "")) +
                                            ": access." + key);
    if (!expanded.ok()) return expanded.status();
    *field = *expanded;
  }
  if (p.access.kind == "ssh" && (p.access.host.empty() || p.access.user.empty()))
    return fail("/access", "kind ssh needs host and user (and optionally port, "
                           "identity_file, known_hosts)");
  if (p.access.kind == "openssh" && p.access.alias.empty())
    return fail("/access", "kind openssh needs alias: a Host from your ~/.ssh/config");
  if (p.access.kind == "local" && p.scheduler == "host")
    return fail("/scheduler", "host means a machine reached over SSH; use scheduler local "
                              "for this machine, or access kind ssh/openssh");

  if (j.contains("shell")) {
    const json& s = j["shell"];
    if (s.contains("login")) p.login_shell = Strings(s, "login");
    p.setup = Strings(s, "setup");
  }
  if (j.contains("paths")) {
    const json& paths = j["paths"];
    p.work_root = Str(paths, "work_root");
    p.log_root = Str(paths, "log_root");
    p.allowed_roots = Strings(paths, "allowed_roots");
  }
  if (j.contains("defaults")) {
    const json& d = j["defaults"];
    p.defaults.partition = Str(d, "partition");
    p.defaults.account = Str(d, "account");
    p.defaults.qos = Str(d, "qos");
    p.defaults.time = Str(d, "time");
    p.defaults.mem = Str(d, "mem");
    p.defaults.constraint = Str(d, "constraint");
    p.defaults.cpus = d.value("cpus", 0);
    p.defaults.gpus = d.value("gpus", 0);
  }
  if (j.contains("limits")) {
    const json& l = j["limits"];
    p.limits.max_walltime = Str(l, "max_walltime");
    p.limits.max_array_size = l.value("max_array_size", 0);
    p.limits.max_concurrent_jobs = l.value("max_concurrent_jobs", 0);
    p.limits.min_query_interval_seconds = l.value("min_query_interval_seconds", 10);
    p.limits.allowed_partitions = Strings(l, "allowed_partitions");
    p.limits.allowed_accounts = Strings(l, "allowed_accounts");
    p.limits.allowed_qos = Strings(l, "allowed_qos");
    // The schema has checked the types (integer or number).
    auto number = [&l](const char* key) -> std::optional<double> {
      if (!l.contains(key)) return std::nullopt;
      return l[key].get<double>();
    };
    if (auto v = number("max_gpus")) p.limits.max_gpus = static_cast<int>(*v);
    if (auto v = number("max_nodes")) p.limits.max_nodes = static_cast<int>(*v);
    if (auto v = number("max_jobs_in_flight"))
      p.limits.max_jobs_in_flight = static_cast<int>(*v);
    p.limits.max_gpu_hours_in_flight = number("max_gpu_hours_in_flight");
    p.limits.max_gpu_hours_per_day = number("max_gpu_hours_per_day");
    p.limits.confirm_above_gpu_hours = number("confirm_above_gpu_hours");
  }
  if (j.contains("gpus")) {
    const json& g = j["gpus"];
    p.gpus.nvidia_smi = Str(g, "placement") == "nvidia-smi";
    p.gpus.free_below_mib = g.value("free_below_mib", 500);
    if (p.gpus.nvidia_smi && p.scheduler != "host" && p.scheduler != "local")
      return InvalidArgument(std::string(source) +
                             ": gpus.placement nvidia-smi is for the host and local schedulers; "
                             "a batch scheduler places GPUs itself (remove the gpus section)");
  }
  p.raw = j;
  return p;
}

Result<ClusterProfile> LoadProfile(const std::string& name, const std::string& repo) {
  if (!ValidName(name))
    return InvalidArgument("profile name \"" + name +
                           "\" is not valid: use letters, digits, '-', '_' and '.'");
  std::vector<std::string> looked;
  for (const auto& dir : SearchDirs(repo)) {
    for (const char* ext : {".yaml", ".yml"}) {
      fs::path p = fs::path(dir) / (name + ext);
      looked.push_back(p.string());
      if (auto text = ReadFile(p)) return ParseProfile(*text, p.string());
    }
  }
  std::string embedded = "cluster_profiles/" + name + ".yaml";
  if (auto text = mcp::FindAsset(tools::HpcAssets(), embedded))
    return ParseProfile(*text, "embedded:" + embedded);
  std::vector<Status> errors;
  std::string known;
  for (const auto& p : ListProfiles(repo, &errors)) known += (known.empty() ? "" : ", ") + p.name;
  std::string where;
  for (const auto& l : looked) where += (where.empty() ? "" : ", ") + l;
  return Status(StatusCode::kNotFound,
                "no cluster profile named \"" + name + "\" (looked in " + where +
                    " and the built-in profiles). Known profiles: " + known +
                    ". Write " + (repo.empty() ? looked.front() : repo + "/.hpc-mcp/profiles/" + name + ".yaml") +
                    " (see cluster_profiles/example_slurm.yaml)")
      .WithReason("profile_not_found", false, "create the profile file or use one of the known names");
}

std::vector<ClusterProfile> ListProfiles(const std::string& repo, std::vector<Status>* errors) {
  std::vector<ClusterProfile> out;
  std::set<std::string> seen;
  auto add = [&](Result<ClusterProfile> r) {
    if (!r.ok()) {
      if (errors) errors->push_back(r.status());
      return;
    }
    if (seen.insert(r->name).second) out.push_back(std::move(*r));
  };
  for (const auto& dir : SearchDirs(repo)) {
    std::error_code ec;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir, ec))
      if (e.path().extension() == ".yaml" || e.path().extension() == ".yml") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files)
      if (auto text = ReadFile(f)) add(ParseProfile(*text, f.string()));
  }
  for (const auto& a : mcp::ListAssets(tools::HpcAssets(), "cluster_profiles/", ".yaml")) {
    if (std::string_view(a.path).find('/', 17) != std::string_view::npos) continue;  // templates/
    add(ParseProfile(a.content, "embedded:" + std::string(a.path)));
  }
  return out;
}

}  // namespace hpc::cluster
