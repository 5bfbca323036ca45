// What a notice says: a few plain lines a person reads on a phone's lock
// screen, and the JSON a webhook receives. Fields come from logs and
// schedulers, so every one is forced onto one short line: a stray newline in
// an evidence line must not push "what to do" out of the message.

#include <string>
#include <vector>

#include "tools/notify/internal.h"
#include "tools/notify/notify.h"

namespace hpc::notify {
namespace {

constexpr size_t kMaxLine = 200;

std::string Field(const std::string& value) {
  return internal::OneLine(value, kMaxLine);
}

// "run bert-lr3 failed (timeout) after 3h12m", without the "hpc-mcp: ".
std::string Subject(const Notice& n) {
  std::string name = !n.run_name.empty() ? n.run_name : n.run_id;
  std::string who = name.empty() ? "" : " " + name;
  std::string after = n.runtime.empty() ? "" : " after " + n.runtime;
  if (n.event == "sweep_done") return "sweep" + who + " done" + after;
  std::string run = "run" + who;
  if (n.event == "run_started") return run + " started";
  if (n.event == "run_finished") return run + " finished" + after;
  if (n.event == "run_failed") {
    // "failed (timeout)": the state says which failure it was.
    std::string state =
        n.state.empty() || n.state == "failed" ? "" : " (" + n.state + ")";
    return run + " failed" + state + after;
  }
  if (n.event == "health_failed") return run + ": health check failed" + after;
  return run + ": " + (n.event.empty() ? n.state : n.event);
}

std::string BaseName(const std::string& path) {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  size_t slash = p.find_last_of('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

}  // namespace

namespace internal {

std::string OneLine(std::string_view text, size_t max) {
  std::string out;
  bool space = false;
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F || c == ' ') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  if (out.size() <= max) return out;
  size_t n = max >= 3 ? max - 3 : 0;
  // Back off continuation bytes so a multi-byte character is never split.
  while (n > 0 && (static_cast<unsigned char>(out[n]) & 0xC0) == 0x80) --n;
  return out.substr(0, n) + "...";
}

std::string NoticeTitle(const Notice& n) {
  return Field("hpc-mcp: " + Subject(n));
}

}  // namespace internal

std::string NoticeText(const Notice& n) {
  std::vector<std::string> lines = {internal::NoticeTitle(n)};
  // Where and how far: "in bert on slurm-a, step 48000/100000, loss 2.31".
  std::string where;
  if (!n.repo.empty()) where = "in " + BaseName(n.repo);
  if (!n.profile.empty()) where += (where.empty() ? "on " : " on ") + n.profile;
  std::string facts;
  for (const std::string& part :
       {where, n.last_step.empty() ? "" : "step " + n.last_step,
        n.last_metric}) {
    if (part.empty()) continue;
    facts += (facts.empty() ? "" : ", ") + part;
  }
  if (!facts.empty()) lines.push_back(Field(facts));
  if (!n.diagnosis.empty()) lines.push_back(Field("diagnosis: " + n.diagnosis));
  if (!n.evidence.empty()) lines.push_back(Field("evidence: " + n.evidence));
  if (!n.next.empty()) lines.push_back(Field("next: " + n.next));
  std::string text;
  for (const std::string& line : lines)
    text += (text.empty() ? "" : "\n") + line;
  return text;
}

nlohmann::json NoticeJson(const Notice& n) {
  nlohmann::json j = nlohmann::json::object();
  const std::pair<const char*, const std::string*> fields[] = {
      {"event", &n.event},         {"key", &n.key},
      {"repo", &n.repo},           {"run_id", &n.run_id},
      {"run_name", &n.run_name},   {"profile", &n.profile},
      {"state", &n.state},         {"runtime", &n.runtime},
      {"last_step", &n.last_step}, {"last_metric", &n.last_metric},
      {"diagnosis", &n.diagnosis}, {"evidence", &n.evidence},
      {"next", &n.next},           {"at", &n.at},
  };
  for (const auto& [name, value] : fields)
    if (!value->empty()) j[name] = *value;
  j["text"] = NoticeText(n);
  return j;
}

}  // namespace hpc::notify
