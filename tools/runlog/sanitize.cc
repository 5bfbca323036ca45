#include "tools/runlog/sanitize.h"

#include <algorithm>
#include <regex>

#include "mcp_server/redact.h"

namespace hpc::runlog {
namespace {

using std::regex;
constexpr auto kIcase = std::regex::ECMAScript | std::regex::icase;
constexpr char kEllipsis[] = "\xE2\x80\xA6";  // "…"

const regex& UrlRe() {
  static const regex r(R"([A-Za-z][A-Za-z0-9+.-]*://[^\s<>"'`)\]]+)");
  return r;
}

// What the server-wide pass (mcp_server/redact.h) leaves because a tool
// answer may need it, and a published log does not: a full git commit looks
// like a W&B key, and "Basic" also starts ordinary prose there.
const std::vector<regex>& PublishOnlySecretRes() {
  static const std::vector<regex> v = {
      regex(R"(\b[0-9a-fA-F]{40}\b)"),
      regex(R"(\bBasic\s+[A-Za-z0-9._~+/=-]{8,})", kIcase),
  };
  return v;
}

// An absolute path after a delimiter; group 2 is the path.
const regex& PathRe() {
  static const regex r(
      R"((^|[\s`'"(\[=:,;])((?:~[A-Za-z0-9_.-]*|\$\{?[A-Za-z_][A-Za-z0-9_]*\}?)?/[^\s`'"()<>\[\],;|*]+))");
  return r;
}

const regex& IpRe() {
  static const regex r(R"(\b(?:\d{1,3}\.){3}\d{1,3}\b)");
  return r;
}

const regex& NodeShapeRe() {
  static const regex r(R"(\b(?:nid\d{3,}|(?:node|cn)[-_]?\d{2,})\b)", kIcase);
  return r;
}

// Labels this file writes: an identifier equal to one would survive its
// own replacement.
bool IsLabelWord(const std::string& w) {
  static const char* kWords[] = {"job",  "id",   "job-id",   "node",
                                 "host", "user", "redacted", "ip"};
  return std::any_of(std::begin(kWords), std::end(kWords),
                     [&](const char* k) { return w == k; });
}

// Account names that identify nobody.
bool IsGenericUser(const std::string& w) {
  static const char* kWords[] = {"root",   "user",   "admin",
                                 "ubuntu", "debian", "nobody"};
  return std::any_of(std::begin(kWords), std::end(kWords),
                     [&](const char* k) { return w == k; });
}

bool WordChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9');
}

// Calls `f` on each stretch of `text` outside URLs; URLs are copied.
template <typename F>
std::string OutsideUrls(const std::string& text, F f) {
  std::string out;
  size_t last = 0;
  for (std::sregex_iterator it(text.begin(), text.end(), UrlRe()), end;
       it != end; ++it) {
    const size_t at = static_cast<size_t>(it->position());
    out += f(text.substr(last, at - last));
    out += it->str();
    last = at + static_cast<size_t>(it->length());
  }
  out += f(text.substr(last));
  return out;
}

// Each match of `re` in `text` passed through `with(match)`.
template <typename F>
std::string ReplaceEach(const std::string& text, const regex& re, F with) {
  std::string out;
  size_t last = 0;
  for (std::sregex_iterator it(text.begin(), text.end(), re), end; it != end;
       ++it) {
    const size_t at = static_cast<size_t>(it->position());
    out += text.substr(last, at - last);
    out += with(*it);
    last = at + static_cast<size_t>(it->length());
  }
  return out + text.substr(last);
}

// Whether a path match is one to remove: two components at least for a
// bare absolute path ("/s" in "tokens /s" is not a place).
bool IsPlace(const std::string& path) {
  if (path[0] != '/') return true;
  return path.find('/', 1) != std::string::npos && path.size() > 2;
}

std::string LastComponent(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Occurrences of `word` not inside a longer run of letters and digits.
std::vector<size_t> WordHits(const std::string& text, const std::string& word) {
  std::vector<size_t> hits;
  if (word.empty()) return hits;
  for (size_t at = text.find(word); at != std::string::npos;
       at = text.find(word, at + 1)) {
    const bool before =
        at > 0 && WordChar(text[at - 1]) && WordChar(word.front());
    const size_t after = at + word.size();
    const bool follows =
        after < text.size() && WordChar(text[after]) && WordChar(word.back());
    if (!before && !follows) hits.push_back(at);
  }
  return hits;
}

std::string ReplaceWord(const std::string& text, const std::string& word,
                        const std::string& with) {
  std::string out;
  size_t last = 0;
  for (size_t at : WordHits(text, word)) {
    if (at < last) continue;
    out += text.substr(last, at - last) + with;
    last = at + word.size();
  }
  return out + text.substr(last);
}

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (std::string_view(R"(\^$.|?*+()[]{}-/)").find(c) !=
        std::string_view::npos)
      out += '\\';
    out += c;
  }
  return out;
}

// Where the text says `id` is a job: group 1 is the context kept.
regex JobContextRe(const std::string& id) {
  const std::string e = Escape(id);
  return regex(
      R"(((?:\bjob(?:[ _-]?id)?|\bjobid|\bexecution[ _-]?id|\bslurm-|\barray job)\W{0,3})()" +
          e + R"()(?:[_.]\d+)?(?![A-Za-z0-9]))",
      kIcase);
}

regex JobFileRe(const std::string& id) {
  return regex(R"(\b)" + Escape(id) + R"((?:[_.]\d+)?\.(?:out|err|log)\b)");
}

struct Named {
  std::string word, label, kind;
};

// The identifiers worth replacing, each with its label.
std::vector<Named> Words(const Identifiers& ids) {
  std::vector<Named> out;
  auto add = [&](const std::vector<std::string>& list, size_t min,
                 const char* label, const char* kind) {
    for (const auto& w : list)
      if (w.size() >= min && !IsLabelWord(w) &&
          !(std::string(kind) == "user name" && IsGenericUser(w)))
        out.push_back({w, label, kind});
  };
  add(ids.job_ids, 5, "<job-id>", "job id");
  add(ids.nodes, 2, "<node>", "node name");
  add(ids.hosts, 2, "<host>", "host name");
  add(ids.users, 3, "<user>", "user name");
  add(ids.extra, 2, "<redacted>", "redacted text");
  // Longest first, so "gpu-a017" goes before a node "gpu-a01" would cut it.
  std::stable_sort(out.begin(), out.end(), [](const Named& a, const Named& b) {
    return a.word.size() > b.word.size();
  });
  return out;
}

void AddUnique(std::vector<std::string>& list, std::string v) {
  while (!v.empty() && (v.back() == '.' || v.back() == ',' || v.back() == ':'))
    v.pop_back();
  if (!v.empty() && std::find(list.begin(), list.end(), v) == list.end())
    list.push_back(v);
}

std::string ScrubSecrets(const std::string& text) {
  std::string out = mcp::Redact(text);
  for (const auto& re : PublishOnlySecretRes())
    out = std::regex_replace(out, re, mcp::kRedacted);
  return out;
}

std::string ScrubPlaces(const std::string& part) {
  std::string s = ReplaceEach(part, PathRe(), [](const std::smatch& m) {
    const std::string path = m[2].str();
    if (!IsPlace(path)) return m.str();
    return m[1].str() + kEllipsis + "/" + LastComponent(path);
  });
  return std::regex_replace(s, NodeShapeRe(), "<node>");
}

}  // namespace

void LearnFromText(std::string_view view, Identifiers& ids) {
  static const regex home(R"(/(?:home|Users)/([A-Za-z_][A-Za-z0-9_.-]*))");
  static const regex tilde(R"((?:^|[\s`'"(=:])~([a-z_][a-z0-9_.-]{2,31})/)");
  static const regex user(
      R"((?:^|[^A-Za-z0-9_])(?:user(?:name)?|login|logname)\s*[:=]\s*[`'"]?([a-z_][a-z0-9_-]{2,31})[`'"]?(?=[\r\n,;)]|$))",
      kIcase);
  static const regex node(
      R"((?:\bnode(?:s|list|name)?|\bhost(?:name)?|\bSLURM_(?:JOB_)?NODELIST|\bSLURMD_NODENAME)\s*[:=]\s*[`'"]?([A-Za-z][A-Za-z0-9_.\[\],-]*\d[A-Za-z0-9_.\[\]-]*))",
      kIcase);
  static const regex on_node(
      R"(\bon (?:node|host)\s+([A-Za-z][A-Za-z0-9_.-]*\d[A-Za-z0-9_.-]*))",
      kIcase);
  const std::string text(view);
  auto collect = [&](const regex& re, std::vector<std::string>& into) {
    for (std::sregex_iterator it(text.begin(), text.end(), re), end; it != end;
         ++it)
      AddUnique(into, (*it)[1].str());
  };
  collect(home, ids.users);
  collect(tilde, ids.users);
  collect(user, ids.users);
  collect(node, ids.nodes);
  collect(on_node, ids.nodes);
}

std::string Sanitize(std::string_view view, const Identifiers& ids) {
  std::string text = ScrubSecrets(std::string(view));
  text = std::regex_replace(text, IpRe(), "<ip>");
  const std::vector<Named> words = Words(ids);
  return OutsideUrls(text, [&](std::string part) {
    part = ScrubPlaces(part);
    for (const auto& id : ids.job_ids) {
      if (id.empty()) continue;
      part = std::regex_replace(part, JobContextRe(id), "$1<job-id>");
      part = std::regex_replace(part, JobFileRe(id), "<job-id>.log");
    }
    for (const auto& w : words) part = ReplaceWord(part, w.word, w.label);
    return part;
  });
}

std::vector<std::string> Leaks(std::string_view view, const Identifiers& ids) {
  const std::string text(view);
  std::vector<std::string> found;
  if (ScrubSecrets(text) != text) found.push_back("a secret");
  if (std::regex_search(text, IpRe())) found.push_back("an IP address");
  const std::vector<Named> words = Words(ids);
  OutsideUrls(text, [&](const std::string& part) {
    for (std::sregex_iterator it(part.begin(), part.end(), PathRe()), end;
         it != end; ++it)
      if (IsPlace((*it)[2].str()))
        found.push_back("the path " + (*it)[2].str());
    if (std::regex_search(part, NodeShapeRe())) found.push_back("a node name");
    for (const auto& id : ids.job_ids)
      if (!id.empty() && (std::regex_search(part, JobContextRe(id)) ||
                          std::regex_search(part, JobFileRe(id))))
        found.push_back("job id " + id);
    for (const auto& w : words)
      if (!WordHits(part, w.word).empty())
        found.push_back(w.kind + " '" + w.word + "'");
    return std::string();
  });
  return found;
}

}  // namespace hpc::runlog
