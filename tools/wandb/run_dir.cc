#include "tools/wandb/run_dir.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "mcp_server/yaml_json.h"
#include "tools/wandb/datastore.h"

namespace hpc::wandb {
namespace {

using nlohmann::json;

constexpr size_t kMaxListingBytes = 32u << 20;
constexpr uint64_t kMaxSmallFile = 4u << 20;  // summary, config, metadata.

std::string Dirname(const std::string& p) {
  size_t slash = p.find_last_of('/');
  if (slash == std::string::npos) return "";
  return slash == 0 ? "/" : p.substr(0, slash);
}

std::string Basename(const std::string& p) {
  size_t slash = p.find_last_of('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

std::string Join(const std::string& root, const std::string& rel) {
  if (rel.empty()) return root;
  return root == "/" ? "/" + rel : root + "/" + rel;
}

// "run-<id>.wandb" -> id; "" when `name` is not a transaction log's name.
std::string WandbIdOf(const std::string& name) {
  static const std::regex kLog(R"(run-([A-Za-z0-9_-]+)\.wandb)");
  std::smatch m;
  return std::regex_match(name, m, kLog) ? m[1].str() : "";
}

bool UnderDir(const std::string& rel, const std::string& dir) {
  return rel.size() > dir.size() && rel.compare(0, dir.size(), dir) == 0 &&
         rel[dir.size()] == '/';
}

bool IsStagingDir(const std::string& rel) {
  static const std::string kTail = "artifacts/staging";
  return rel == kTail ||
         (rel.size() > kTail.size() && rel.ends_with("/" + kTail));
}

// A history value as a curve point value: a finite number, or one of the
// non-finite words; nullopt for anything else (media, strings, dicts).
std::optional<json> PointValue(const json& v) {
  if (v.is_number()) return v;
  if (v.is_string()) {
    const std::string s = v;
    if (s == "NaN" || s == "Infinity" || s == "-Infinity") return v;
  }
  return std::nullopt;
}

// wandb's config.yaml wraps each value as {desc, value}; `_wandb` is
// wandb's own bookkeeping.
json UnwrapConfig(const json& doc) {
  json out = json::object();
  if (!doc.is_object()) return out;
  for (const auto& [k, v] : doc.items()) {
    if (k == "_wandb" || k == "wandb_version") continue;
    out[k] = v.is_object() && v.contains("value") ? v["value"] : v;
  }
  return out;
}

// Rows of a legacy files/wandb-history.jsonl. Python's json writes NaN and
// Infinity as bare words, which are turned into strings first.
std::vector<json> ParseHistoryJsonl(const std::string& text, size_t* bad) {
  static const std::regex kBare(R"(([:\[,]\s*)(-?Infinity|NaN)(?=\s*[,}\]]))");
  std::vector<json> rows;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded())
      j = json::parse(std::regex_replace(line, kBare, "$1\"$2\""), nullptr,
                      false);
    if (j.is_object())
      rows.push_back(std::move(j));
    else
      ++*bad;
  }
  return rows;
}

}  // namespace

Listing ParseFindOutput(std::string_view out, bool truncated) {
  Listing l;
  l.truncated = truncated;
  size_t pos = 0;
  while (pos < out.size()) {
    size_t end = out.find('\0', pos);
    if (end == std::string_view::npos) {  // A record cut by the output cap.
      l.truncated = true;
      break;
    }
    std::string_view rec = out.substr(pos, end - pos);
    pos = end + 1;
    size_t t1 = rec.find('\t');
    size_t t2 = t1 == std::string_view::npos ? t1 : rec.find('\t', t1 + 1);
    if (t2 == std::string_view::npos || t1 != 1) continue;
    Entry e;
    e.type = rec[0];
    e.size =
        std::strtoull(std::string(rec.substr(2, t2 - 2)).c_str(), nullptr, 10);
    e.rel = std::string(rec.substr(t2 + 1));
    if (!e.rel.empty()) l.entries.push_back(std::move(e));
  }
  return l;
}

Result<Listing> Walk(remote::Remote& remote, const std::string& root,
                     int max_depth) {
  auto st = remote.Stat(root);
  if (!st.ok()) {
    if (st.status().code() == StatusCode::kNotFound)
      return NotFound(root + " does not exist on " + remote.Describe());
    return st.status();
  }
  if (!st->is_dir) return FailedPrecondition(root + " is not a directory");
  // -H: the root itself may be a symlink to the run (as a user's `wandb sync
  // <link>` would follow it); nothing below it is followed.
  std::vector<std::string> argv = {"find", "-H", root, "-mindepth", "1"};
  if (max_depth > 0) {
    argv.push_back("-maxdepth");
    argv.push_back(std::to_string(max_depth));
  }
  argv.push_back("-printf");
  argv.push_back("%y\\t%s\\t%P\\0");
  remote::RunOptions o;
  o.login_shell = false;
  o.timeout = std::chrono::seconds(120);
  o.max_output = kMaxListingBytes;
  auto r = remote.Run(argv, o);
  if (!r.ok()) return r.status();
  // find exits 1 when some entries were unreadable but still lists the rest.
  if (!r->ok() && r->out.empty())
    return Status(StatusCode::kFailedPrecondition,
                  "cannot list " + root + " on " + remote.Describe() + ": " +
                      r->err)
        .WithReason("command_failed", false,
                    "check the directory's permissions");
  return ParseFindOutput(r->out, r->out_truncated || !r->ok());
}

std::vector<RunDir> FindRunDirs(const Listing& listing,
                                const std::string& root) {
  static const std::regex kStarted(
      R"((?:offline-)?run-(\d{4})(\d{2})(\d{2})_(\d{2})(\d{2})(\d{2})-.*)");
  std::map<std::string, std::vector<const Entry*>> logs;  // dir -> logs.
  std::set<std::string> markers;
  for (const auto& e : listing.entries) {
    if (e.type != 'f') continue;
    const std::string name = Basename(e.rel);
    if (name.ends_with(".wandb.synced")) markers.insert(e.rel);
    if (!WandbIdOf(name).empty()) logs[Dirname(e.rel)].push_back(&e);
  }
  std::vector<RunDir> out;
  for (const auto& [dir, files] : logs) {
    if (files.size() != 1) continue;  // wandb sync skips such a directory.
    RunDir d;
    d.path = Join(root, dir);
    d.wandb_file = Join(root, files[0]->rel);
    d.wandb_id = WandbIdOf(Basename(files[0]->rel));
    d.wandb_bytes = files[0]->size;
    d.synced = markers.count(files[0]->rel + ".synced") > 0;
    const std::string name = Basename(d.path);
    d.offline = name.rfind("offline-run-", 0) == 0;
    std::smatch m;
    if (std::regex_match(name, m, kStarted))
      d.started = m[1].str() + "-" + m[2].str() + "-" + m[3].str() + "T" +
                  m[4].str() + ":" + m[5].str() + ":" + m[6].str();
    out.push_back(std::move(d));
  }
  return out;
}

Result<Inventory> TakeInventory(const Listing& listing,
                                const std::string& path) {
  Listing top;
  for (const auto& e : listing.entries)
    if (e.rel.find('/') == std::string::npos) top.entries.push_back(e);
  auto dirs = FindRunDirs(top, path);
  if (dirs.size() != 1 || dirs[0].path != path) {
    size_t logs = 0;
    for (const auto& e : top.entries)
      logs += e.type == 'f' && !WandbIdOf(e.rel).empty();
    return Status(StatusCode::kFailedPrecondition,
                  path + " is not a W&B run directory: it holds " +
                      std::to_string(logs) +
                      " run-<id>.wandb files, and wandb sync needs exactly one")
        .WithReason("not_a_run_dir", false,
                    "use action find on the training directory to list its "
                    "offline runs");
  }
  Inventory inv;
  inv.run = dirs[0];
  inv.truncated = listing.truncated;
  std::vector<std::string> staging_dirs;
  for (const auto& e : listing.entries) {
    if (e.type != 'd' || !IsStagingDir(e.rel)) continue;
    bool nested = false;
    for (const auto& s : staging_dirs) nested = nested || UnderDir(e.rel, s);
    if (!nested) staging_dirs.push_back(e.rel);
  }
  std::vector<Staging> staging;
  for (const auto& s : staging_dirs)
    staging.push_back({Join(path, s), 0, 0, "run"});
  const std::string log_rel = Basename(inv.run.wandb_file);
  std::vector<Entry> uploads;
  for (const auto& e : listing.entries) {
    if (e.type == 'd') continue;
    inv.total_bytes += e.size;
    ++inv.total_files;
    bool staged = false;
    for (size_t i = 0; i < staging_dirs.size() && !staged; ++i) {
      if (UnderDir(e.rel, staging_dirs[i])) {
        staging[i].bytes += e.size;
        ++staging[i].files;
        inv.staging_bytes += e.size;
        staged = true;
      }
    }
    if (staged) continue;
    if (e.rel == log_rel || e.rel.rfind("files/", 0) == 0) {
      inv.upload_bytes += e.size;
      ++inv.upload_files;
      uploads.push_back(e);
    } else {
      inv.other_bytes += e.size;
    }
  }
  std::sort(uploads.begin(), uploads.end(),
            [](const Entry& a, const Entry& b) { return a.size > b.size; });
  if (uploads.size() > 10) uploads.resize(10);
  inv.largest_uploads = std::move(uploads);
  inv.staging = std::move(staging);
  return inv;
}

std::string TrainingDir(const std::string& run_dir) {
  std::string parent = Dirname(run_dir);
  if (Basename(parent) == "wandb") return Dirname(parent);
  return parent;
}

json ParseSettings(std::string_view text) {
  json out = json::object();
  std::istringstream in{std::string(text)};
  std::string line, section;
  auto trim = [](std::string s) {
    size_t b = s.find_first_not_of(" \t\r");
    size_t e = s.find_last_not_of(" \t\r");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
  };
  while (std::getline(in, line)) {
    line = trim(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      section = trim(line.substr(1, line.size() - 2));
      continue;
    }
    size_t eq = line.find('=');
    if (section != "default" || eq == std::string::npos) continue;
    std::string key = trim(line.substr(0, eq)),
                value = trim(line.substr(eq + 1));
    if (!key.empty()) out[key] = value;
  }
  return out;
}

json Curves(const std::vector<json>& rows, const ReadOptions& options) {
  const std::set<std::string> wanted(options.keys.begin(), options.keys.end());
  std::map<std::string, std::vector<std::pair<json, json>>> series;
  for (size_t i = 0; i < rows.size(); ++i) {
    const json& row = rows[i];
    if (!row.is_object()) continue;
    json step = row.contains("_step") && row["_step"].is_number() ? row["_step"]
                                                                  : json(i);
    for (const auto& [k, v] : row.items()) {
      if (k.empty() || k[0] == '_') continue;
      if (!wanted.empty() && !wanted.count(k)) continue;
      if (auto pv = PointValue(v)) series[k].emplace_back(step, *pv);
    }
  }
  json metrics = json::object();
  std::vector<std::string> left_out;
  for (auto& [k, pts] : series) {
    if (metrics.size() >= options.max_keys) {
      left_out.push_back(k);
      continue;
    }
    json m;
    m["count"] = pts.size();
    m["first"] = json::array({pts.front().first, pts.front().second});
    m["last"] = json::array({pts.back().first, pts.back().second});
    std::optional<double> lo, hi;
    size_t non_finite = 0;
    for (const auto& [s, v] : pts) {
      if (!v.is_number()) {
        ++non_finite;
        continue;
      }
      double d = v.get<double>();
      lo = lo ? std::min(*lo, d) : d;
      hi = hi ? std::max(*hi, d) : d;
    }
    m["min"] = lo ? json(*lo) : json();
    m["max"] = hi ? json(*hi) : json();
    m["non_finite"] = non_finite;
    json points = json::array();
    const size_t n = pts.size(),
                 k_max = std::max<size_t>(options.max_points, 2);
    if (n <= k_max) {
      for (const auto& [s, v] : pts) points.push_back(json::array({s, v}));
    } else {
      for (size_t i = 0; i < k_max; ++i) {
        const auto& p = pts[i * (n - 1) / (k_max - 1)];
        points.push_back(json::array({p.first, p.second}));
      }
    }
    m["points"] = std::move(points);
    metrics[k] = std::move(m);
  }
  json out{{"metrics", std::move(metrics)}};
  if (!left_out.empty()) out["keys_left_out"] = left_out;
  return out;
}

Result<json> ReadRunFiles(remote::Remote& remote, const Inventory& inv,
                          const ReadOptions& options) {
  json out = json::object();
  std::vector<std::string> missing, notes;
  auto small = [&](const std::string& rel) -> std::optional<std::string> {
    bool cut = false;
    auto text =
        ReadWhole(remote, inv.run.path + "/" + rel, kMaxSmallFile, &cut);
    if (!text.ok()) {
      if (text.status().code() == StatusCode::kNotFound)
        missing.push_back(rel);
      else
        notes.push_back(rel + ": " + text.status().message());
      return std::nullopt;
    }
    if (cut)
      notes.push_back(rel + " is larger than 4 MiB; read its first 4 MiB");
    return *text;
  };
  out["summary"] = nullptr;
  if (auto text = small("files/wandb-summary.json")) {
    json j = json::parse(*text, nullptr, false);
    if (j.is_discarded()) {
      // Python writes NaN/Infinity bare; keep what parses after quoting them.
      size_t bad = 0;
      auto rows = ParseHistoryJsonl(*text, &bad);
      j = rows.size() == 1 ? rows[0] : json();
      if (j.is_null()) notes.push_back("files/wandb-summary.json is not JSON");
    }
    out["summary"] = j;
  }
  out["config"] = nullptr;
  if (auto text = small("files/config.yaml")) {
    auto doc = mcp::YamlToJson(*text, "files/config.yaml");
    if (doc.ok())
      out["config"] = UnwrapConfig(*doc);
    else
      notes.push_back(doc.status().message());
  }
  out["metadata"] = nullptr;
  if (auto text = small("files/wandb-metadata.json")) {
    json j = json::parse(*text, nullptr, false);
    if (j.is_object()) {
      json keep = json::object();
      for (const char* k :
           {"program", "codePath", "args", "startedAt", "python", "git", "gpu",
            "gpu_count", "cpu_count", "os"})
        if (j.contains(k)) keep[k] = j[k];
      out["metadata"] = keep;
    }
  }
  // History: the legacy files/wandb-history.jsonl when the run wrote one,
  // else the transaction log itself.
  json history{{"source", nullptr}, {"rows", 0}};
  std::vector<json> rows;
  bool cut = false;
  auto legacy = ReadWhole(remote, inv.run.path + "/files/wandb-history.jsonl",
                          options.max_log_bytes, &cut);
  if (legacy.ok()) {
    size_t bad = 0;
    rows = ParseHistoryJsonl(*legacy, &bad);
    history["source"] = "files/wandb-history.jsonl";
    if (bad) history["bad_rows"] = bad;
  } else {
    auto log =
        ReadWhole(remote, inv.run.wandb_file, options.max_log_bytes, &cut);
    if (!log.ok()) return log.status();
    auto parsed = ParseTransactionLog(*log);
    if (!parsed.ok()) return parsed.status();
    rows = std::move(parsed->history);
    history["source"] = Basename(inv.run.wandb_file);
    history["records"] = parsed->records;
    if (parsed->bad_records) history["bad_records"] = parsed->bad_records;
    if (parsed->torn_tail && !cut) history["torn_tail"] = true;
    if (!parsed->run.empty()) out["recorded"] = parsed->run;
  }
  if (cut)
    notes.push_back("history read from the first " +
                    std::to_string(options.max_log_bytes >> 20) + " MiB only");
  history["truncated"] = cut;
  history["rows"] = rows.size();
  json curves = Curves(rows, options);
  for (auto& [k, v] : curves.items()) history[k] = std::move(v);
  out["history"] = std::move(history);
  if (!missing.empty()) out["missing"] = missing;
  if (!notes.empty()) out["notes"] = notes;
  return out;
}

}  // namespace hpc::wandb
