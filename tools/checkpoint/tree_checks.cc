#include "tools/checkpoint/tree_checks.h"

#include <set>

#include "tools/checkpoint/passport.h"

namespace hpc::checkpoint {
namespace {

using nlohmann::json;

constexpr size_t kMaxPaths = 50;

// Whether symlink `e` (relative to the root) points outside the root,
// judged lexically from its stored target.
bool PointsOutside(const std::string& root, const Entry& e) {
  const std::string& t = e.link_target;
  if (t.empty()) return true;
  if (t[0] == '/') return t.rfind(root + "/", 0) != 0;
  std::vector<std::string> parts;
  size_t slash = e.path.rfind('/');
  std::string dir = slash == std::string::npos ? "" : e.path.substr(0, slash);
  for (const std::string& s : {dir, t}) {
    size_t start = 0;
    while (start <= s.size()) {
      size_t end = s.find('/', start);
      std::string part = s.substr(
          start, end == std::string::npos ? std::string::npos : end - start);
      if (part == "..") {
        if (parts.empty()) return true;
        parts.pop_back();
      } else if (!part.empty() && part != ".") {
        parts.push_back(part);
      }
      if (end == std::string::npos) break;
      start = end + 1;
    }
  }
  return false;
}

// Why listed path `rel` is not a safe regular file in the tree; "" when it
// is one or is simply missing (files_present says so).
std::string Unsafe(const Tree& tree, const std::string& rel) {
  if (Status s = CheckRelativePath(rel); !s.ok())
    return rel + ": " + s.message();
  for (size_t slash = rel.find('/'); slash != std::string::npos;
       slash = rel.find('/', slash + 1)) {
    const Entry* dir = tree.Find(rel.substr(0, slash));
    if (dir && dir->type == EntryType::kSymlink)
      return rel + ": reached through symlink " + dir->path + " -> " +
             dir->link_target;
    if (dir && dir->type != EntryType::kDir)
      return rel + ": " + dir->path + " is not a directory";
  }
  const Entry* e = tree.Find(rel);
  if (!e) return "";
  if (e->type == EntryType::kSymlink)
    return rel + ": is a symlink to " + e->link_target;
  if (e->type != EntryType::kFile) return rel + ": is not a regular file";
  return "";
}

// The passport's files, sorted by what the tree shows for each.
struct Sorted {
  std::vector<std::string> unsafe, missing;
  std::vector<std::string> mismatch;  // So far only sizes; hashing adds.
  std::vector<HashTask> tasks;        // Safe, present, of the listed size.
  std::vector<const json*> expected;  // The passport's entry of each task.
};

Sorted SortListed(const Tree& tree, const json& files) {
  Sorted s;
  std::set<std::string> seen;
  std::vector<std::string> dup;
  for (const auto& f : files) {
    const std::string rel = f["path"];
    if (!seen.insert(rel).second) dup.push_back(rel);
    if (std::string why = Unsafe(tree, rel); !why.empty()) {
      s.unsafe.push_back(why);
      continue;
    }
    const Entry* e = tree.Find(rel);
    if (!e) {
      s.missing.push_back(rel);
      continue;
    }
    if (e->size != f["size"].get<uint64_t>()) {
      s.mismatch.push_back(rel + " (size " + std::to_string(e->size) +
                           ", listed " +
                           std::to_string(f["size"].get<uint64_t>()) + ")");
      continue;
    }
    s.tasks.push_back({tree.root + "/" + rel, e->size});
    s.expected.push_back(&f);
  }
  for (const auto& d : dup) s.unsafe.push_back(d + ": listed twice");
  return s;
}

Observation PathsInsideRoot(const Sorted& s) {
  if (s.unsafe.empty())
    return Obs("paths_inside_root", kPass,
               "every listed path is a regular file inside the root");
  return Obs("paths_inside_root", kFail,
             Count(s.unsafe.size(),
                   "listed path(s) leave the root or are not plain files"),
             s.unsafe);
}

Observation FilesPresent(const Sorted& s) {
  if (s.missing.empty())
    return Obs("files_present", kPass, "every listed file exists");
  return Obs("files_present", kFail,
             Count(s.missing.size(), "listed file(s) are missing"), s.missing);
}

Result<Observation> FileHashes(Site& site, Sorted& s, const VerifyRequest& req,
                               uint64_t* bytes_hashed) {
  auto hashes = site.Hash(s.tasks, req.progress, req.stop);
  if (!hashes.ok()) return hashes.status();
  std::vector<std::string> bad;  // Unreadable: listed after the mismatches.
  *bytes_hashed = 0;
  for (size_t i = 0; i < s.tasks.size(); ++i) {
    const FileHash& h = (*hashes)[i];
    const json& f = *s.expected[i];
    const std::string rel = f["path"], listed = f["sha256"];
    *bytes_hashed += h.bytes;
    if (!h.error.empty())
      bad.push_back(rel + ": " + h.error);
    else if (h.sha256 != listed)
      s.mismatch.push_back(rel + " (sha256 " + h.sha256.substr(0, 16) +
                           "..., listed " + listed.substr(0, 16) + "...)");
  }
  for (auto& b : bad) s.mismatch.push_back(std::move(b));
  if (!s.mismatch.empty())
    return Obs("file_hashes", kFail,
               Count(s.mismatch.size(), "file(s) differ from the passport"),
               s.mismatch);
  if (s.tasks.empty())
    return Obs("file_hashes", kNotChecked, "no listed file could be hashed");
  return Obs("file_hashes", kPass,
             Count(s.tasks.size(), "file(s) match, ") +
                 std::to_string(*bytes_hashed) + " bytes hashed on " +
                 site.Describe());
}

}  // namespace

Observation Obs(const char* check, const char* status, std::string detail,
                std::vector<std::string> paths) {
  if (paths.size() > kMaxPaths) paths.resize(kMaxPaths);
  return {check, status, std::move(detail), std::move(paths)};
}

std::string Count(size_t n, const char* what) {
  return std::to_string(n) + " " + what;
}

Result<std::vector<Observation>> CheckListedFiles(Site& site, const Tree& tree,
                                                  const json& passport,
                                                  const VerifyRequest& req,
                                                  uint64_t* bytes_hashed) {
  if (passport.is_null()) {
    std::vector<Observation> out;
    for (const char* c : {"paths_inside_root", "files_present", "file_hashes"})
      out.push_back(Obs(c, kNotChecked, "no valid passport"));
    return out;
  }
  Sorted s = SortListed(tree, passport["files"]);
  auto hashes = FileHashes(site, s, req, bytes_hashed);
  if (!hashes.ok()) return hashes.status();
  return std::vector<Observation>{PathsInsideRoot(s), FilesPresent(s),
                                  std::move(*hashes)};
}

Observation CheckUnlistedFiles(const Tree& tree, const json& passport,
                               const VerifyRequest& req) {
  std::set<std::string> listed;
  std::vector<std::string> extensions = req.weight_extensions;
  if (!passport.is_null()) {
    for (const auto& f : passport["files"])
      listed.insert(f["path"].get<std::string>());
    for (const auto& x : passport["weight_extensions"])
      extensions.push_back(x.get<std::string>());
  }
  std::vector<std::string> fails, softs;
  for (const auto& e : tree.entries) {
    if (e.type == EntryType::kDir || IsOwnFile(e.path) || listed.count(e.path))
      continue;
    if (e.type == EntryType::kSymlink) {
      bool out = PointsOutside(tree.root, e);
      std::string what = e.path + " -> " + e.link_target +
                         (out ? " (points outside the root)" : "");
      (out || IsWeightFile(e.path, extensions) ? fails : softs).push_back(what);
    } else if (IsWeightFile(e.path, extensions)) {
      fails.push_back(e.path + " (unlisted weight file)");
    } else {
      softs.push_back(e.path);
    }
  }
  if (!fails.empty()) {
    for (auto& s : softs) fails.push_back(std::move(s));
    return Obs("unlisted_files", kFail,
               "weight files or symlinks out of the root that the passport "
               "does not list",
               fails);
  }
  if (!softs.empty())
    return Obs("unlisted_files", kSoft,
               Count(softs.size(),
                     "file(s) not in the passport (no weights among them)"),
               softs);
  return Obs("unlisted_files", kPass, "every file on disk is listed");
}

}  // namespace hpc::checkpoint
