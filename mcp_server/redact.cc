#include "mcp_server/redact.h"

#include <spdlog/details/log_msg.h>

#include <algorithm>
#include <mutex>
#include <regex>
#include <vector>

namespace hpc::mcp {
namespace {

constexpr auto kIcase = std::regex::ECMAScript | std::regex::icase;

// What makes a key name a secret's; shared by key=value and JSON members.
constexpr char kSecretKey[] =
    R"([A-Za-z0-9_.-]*(?:api[_-]?key|apikey|access[_-]?key|token|secret|passw(?:or)?d|credentials?))";

// A regex and the literals (lowercase) one of which a match must contain:
// the regex runs only when the text holds one.
struct Rule {
  std::regex re;
  std::vector<std::string_view> needles;
  std::string with;  // regex_replace format.
};

// Secrets that stand on their own, whatever surrounds them.
const std::vector<Rule>& ShapeRules() {
  static const std::vector<Rule> v = {
      {std::regex(R"(([A-Za-z][A-Za-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@)"),
       {"://"},
       std::string("$1") + kRedacted + "@"},
      {std::regex(R"(\bBearer\s+[A-Za-z0-9._~+/=-]{8,})", kIcase),
       {"bearer"},
       kRedacted},
      {std::regex(R"(\bgh[pousr]_[A-Za-z0-9]{20,})"),
       {"ghp_", "gho_", "ghu_", "ghs_", "ghr_"},
       kRedacted},
      {std::regex(R"(\bgithub_pat_[A-Za-z0-9_]{20,})"),
       {"github_pat_"},
       kRedacted},
      {std::regex(R"(\bhf_[A-Za-z0-9]{20,})"), {"hf_"}, kRedacted},
      {std::regex(R"(\bsk-[A-Za-z0-9_-]{20,})"), {"sk-"}, kRedacted},
      {std::regex(R"(\bxox[abprs]-[A-Za-z0-9-]{10,})"), {"xox"}, kRedacted},
      {std::regex(R"(\bAKIA[0-9A-Z]{16}\b)"), {"akia"}, kRedacted},
      {std::regex(
           R"(\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*)"),
       {"eyj"},
       kRedacted},
  };
  return v;
}

// key=value whose key names a secret: group 1 the key, 2 the separator, 3
// the value, which never starts with $ (a shell reference) or < (already
// redacted, or a placeholder).
const Rule& KeyValueRule() {
  static const Rule r{
      std::regex(std::string(R"(\b()") + kSecretKey +
                     R"()(["']?\s*[=:]\s*["']?)([^\s"'`<>|,;$][^\s"'`<>|,;]*))",
                 kIcase),
      {"key", "token", "secret", "passw", "credential"},
      ""};
  return r;
}

const std::regex& SecretKeyName() {
  static const std::regex r(std::string("^") + kSecretKey + "$", kIcase);
  return r;
}

bool AnyNeedle(std::string_view text, const Rule& rule);

bool IsSecretKey(const std::string& key, const PublicKeys& public_keys) {
  return AnyNeedle(key, KeyValueRule()) && !public_keys.count(key) &&
         std::regex_match(key, SecretKeyName());
}

bool ContainsIcase(std::string_view text, std::string_view lower_needle) {
  if (lower_needle.size() > text.size()) return false;
  auto it =
      std::search(text.begin(), text.end(), lower_needle.begin(),
                  lower_needle.end(), [](char a, char b) {
                    return std::tolower(static_cast<unsigned char>(a)) == b;
                  });
  return it != text.end();
}

bool AnyNeedle(std::string_view text, const Rule& rule) {
  return std::any_of(
      rule.needles.begin(), rule.needles.end(),
      [&](std::string_view n) { return ContainsIcase(text, n); });
}

std::mutex secrets_mu;
std::shared_ptr<const std::vector<std::string>> secrets =
    std::make_shared<std::vector<std::string>>();

std::shared_ptr<const std::vector<std::string>> Secrets() {
  std::lock_guard lock(secrets_mu);
  return secrets;
}

void ReplaceAll(std::string& text, const std::string& value) {
  for (size_t at = text.find(value); at != std::string::npos;
       at = text.find(value, at + sizeof kRedacted - 1)) {
    text.replace(at, value.size(), kRedacted);
  }
}

constexpr std::string_view kKeyBegin = "-----BEGIN ";
constexpr std::string_view kKeyEnd = "-----END ";
constexpr std::string_view kKeyTail = "PRIVATE KEY-----";

// Whether `s` starts a private key block that it does not end.
bool OpensPrivateKey(std::string_view s) {
  const size_t at = s.rfind(kKeyBegin);
  if (at == std::string_view::npos) return false;
  const size_t tail = s.find(kKeyTail, at);
  return tail != std::string_view::npos && tail < s.find('\n', at) &&
         s.find(kKeyEnd, at) == std::string_view::npos;
}

bool ClosesPrivateKey(std::string_view s) {
  const size_t at = s.find(kKeyEnd);
  return at != std::string_view::npos &&
         s.find(kKeyTail, at) != std::string_view::npos;
}

// Removes PEM private key blocks by hand: a lazy regex over a whole block
// recurses per character in libstdc++ and can exhaust the stack on a long
// text.
void RemovePrivateKeys(std::string& text) {
  for (size_t at = text.find(kKeyBegin); at != std::string::npos;
       at = text.find(kKeyBegin, at + 1)) {
    const size_t line_end = text.find('\n', at);
    const size_t tail = text.find(kKeyTail, at);
    if (tail == std::string::npos || tail > line_end) continue;
    const size_t end_marker = text.find(kKeyEnd, tail);
    size_t stop = text.size();
    if (end_marker != std::string::npos) {
      const size_t end_tail = text.find(kKeyTail, end_marker);
      if (end_tail != std::string::npos) stop = end_tail + kKeyTail.size();
    }
    text.replace(at, stop - at, kRedacted);
  }
}

std::string ReplaceKeyValues(const std::string& text, const PublicKeys& keep) {
  const Rule& rule = KeyValueRule();
  std::string out;
  size_t last = 0;
  for (std::sregex_iterator it(text.begin(), text.end(), rule.re), end;
       it != end; ++it) {
    const std::smatch& m = *it;
    if (keep.count((*it)[1].str())) continue;
    const size_t at = static_cast<size_t>(m.position(3));
    out.append(text, last, at - last);
    out += kRedacted;
    last = at + static_cast<size_t>(m.length(3));
  }
  if (last == 0) return text;
  out.append(text, last, std::string::npos);
  return out;
}

class Sink final : public spdlog::sinks::sink {
 public:
  explicit Sink(std::shared_ptr<spdlog::sinks::sink> inner)
      : inner_(std::move(inner)) {}
  void log(const spdlog::details::log_msg& msg) override {
    const std::string_view payload(msg.payload.data(), msg.payload.size());
    std::string clean = Redact(payload);
    if (clean.size() == payload.size() && clean == payload)
      return inner_->log(msg);
    spdlog::details::log_msg copy = msg;
    copy.payload = spdlog::string_view_t(clean.data(), clean.size());
    inner_->log(copy);
  }
  void flush() override { inner_->flush(); }
  void set_pattern(const std::string& p) override { inner_->set_pattern(p); }
  void set_formatter(std::unique_ptr<spdlog::formatter> f) override {
    inner_->set_formatter(std::move(f));
  }

 private:
  std::shared_ptr<spdlog::sinks::sink> inner_;
};

}  // namespace

void RegisterSecret(std::string value) {
  if (value.size() < 8) return;
  std::lock_guard lock(secrets_mu);
  if (std::find(secrets->begin(), secrets->end(), value) != secrets->end())
    return;
  auto next = std::make_shared<std::vector<std::string>>(*secrets);
  next->push_back(std::move(value));
  // Longest first, so a secret that contains another goes whole.
  std::stable_sort(
      next->begin(), next->end(),
      [](const auto& a, const auto& b) { return a.size() > b.size(); });
  secrets = std::move(next);
}

std::string Redact(std::string_view view, const PublicKeys& public_keys) {
  const auto known = Secrets();
  bool hit = view.find(kKeyBegin) != std::string_view::npos ||
             AnyNeedle(view, KeyValueRule());
  for (const auto& s : *known)
    hit = hit || view.find(s) != std::string_view::npos;
  for (const auto& r : ShapeRules()) hit = hit || AnyNeedle(view, r);
  if (!hit) return std::string(view);

  std::string text(view);
  for (const auto& s : *known) ReplaceAll(text, s);
  RemovePrivateKeys(text);
  for (const auto& r : ShapeRules())
    if (AnyNeedle(text, r)) text = std::regex_replace(text, r.re, r.with);
  if (AnyNeedle(text, KeyValueRule()))
    text = ReplaceKeyValues(text, public_keys);
  return text;
}

void RedactJson(json& value, const PublicKeys& public_keys) {
  if (value.is_string()) {
    const std::string& s = value.get_ref<const std::string&>();
    std::string clean = Redact(s, public_keys);
    if (clean != s) value = std::move(clean);
  } else if (value.is_object()) {
    for (auto& [key, member] : value.items()) {
      if (member.is_string() && IsSecretKey(key, public_keys)) {
        const std::string& s = member.get_ref<const std::string&>();
        if (!s.empty() && s[0] != '$') {
          member = kRedacted;
          continue;
        }
      }
      RedactJson(member, public_keys);
    }
  } else if (value.is_array()) {
    // Lines of a log come as an array of strings: a key block spans
    // elements, and its body lines alone look like nothing.
    bool in_key = false;
    for (auto& v : value) {
      if (in_key && v.is_string()) {
        in_key = !ClosesPrivateKey(v.get_ref<const std::string&>());
        v = kRedacted;
        continue;
      }
      in_key =
          v.is_string() && OpensPrivateKey(v.get_ref<const std::string&>());
      RedactJson(v, public_keys);
    }
  }
}

std::shared_ptr<spdlog::sinks::sink> RedactingSink(
    std::shared_ptr<spdlog::sinks::sink> inner) {
  return std::make_shared<Sink>(std::move(inner));
}

}  // namespace hpc::mcp
