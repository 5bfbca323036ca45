#include "verifier.h"

#include <cstring>
#include <nlohmann/json.hpp>
#include <utility>

namespace mcp_bench {
namespace {

using nlohmann::json;

std::string Excerpt(std::string_view s) {
  constexpr size_t kMax = 400;
  return s.size() <= kMax ? std::string(s)
                          : std::string(s.substr(0, kMax)) + "...";
}

bool IsNumberChar(char c) {
  return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' ||
         c == 'e' || c == 'E';
}

}  // namespace

CallVerifier::CallVerifier(std::string expected_text, bool full_every_time)
    : expected_text_(std::move(expected_text)),
      full_every_time_(full_every_time) {}

CallVerifier::Verdict CallVerifier::Check(std::string_view message, int64_t* id,
                                          std::string* error) {
  for (const Template& t : templates_) {
    if (t.bytes.size() != message.size()) continue;
    const size_t after = t.id_pos + t.id_len;
    if (memcmp(t.bytes.data(), message.data(), t.id_pos) != 0 ||
        memcmp(t.bytes.data() + after, message.data() + after,
               message.size() - after) != 0) {
      continue;
    }
    // Same bytes around the id: only a well-formed integer may fill the gap.
    const char* d = message.data() + t.id_pos;
    if (t.id_len > 1 && d[0] == '0') continue;
    int64_t value = 0;
    size_t i = 0;
    for (; i < t.id_len && d[i] >= '0' && d[i] <= '9'; ++i) {
      value = value * 10 + (d[i] - '0');
    }
    if (i != t.id_len) continue;
    *id = value;
    return Verdict::kOk;
  }
  ++full_checks_;
  Verdict verdict = FullCheck(message, id, error);
  if (verdict == Verdict::kOk && !full_every_time_ &&
      templates_.size() < kMaxTemplates) {
    Learn(message, *id);
  }
  return verdict;
}

CallVerifier::Verdict CallVerifier::FullCheck(std::string_view message,
                                              int64_t* id,
                                              std::string* error) const {
  json j = json::parse(message.begin(), message.end(), nullptr,
                       /*allow_exceptions=*/false);
  auto bad = [&](const char* why) {
    *error = std::string(why) + ": " + Excerpt(message);
    return Verdict::kBad;
  };
  if (j.is_discarded()) return bad("not valid JSON");
  if (!j.is_object()) return bad("not a JSON object");
  auto jsonrpc = j.find("jsonrpc");
  if (jsonrpc == j.end() || *jsonrpc != "2.0")
    return bad("jsonrpc is not \"2.0\"");
  auto id_it = j.find("id");
  if (j.contains("method")) {
    if (id_it == j.end()) return Verdict::kNotification;
    return bad("server sent a request during the benchmark");
  }
  if (id_it == j.end() || !id_it->is_number_integer()) {
    return bad("id missing or not an integer");
  }
  *id = id_it->get<int64_t>();
  if (j.contains("error")) return bad("error response");
  auto result = j.find("result");
  if (result == j.end() || !result->is_object()) return bad("no result object");
  auto is_error = result->find("isError");
  if (is_error != result->end() && *is_error != false) {
    return bad("result.isError is not false");
  }
  auto content = result->find("content");
  if (content == result->end() || !content->is_array() || content->empty()) {
    return bad("result.content is not a non-empty array");
  }
  const json& first = (*content)[0];
  if (!first.is_object() || first.value("type", "") != "text") {
    return bad("content[0].type is not \"text\"");
  }
  auto text = first.find("text");
  if (text == first.end() || !text->is_string() || *text != expected_text_) {
    return bad("content[0].text differs from the expected text");
  }
  return Verdict::kOk;
}

void CallVerifier::Learn(std::string_view message, int64_t id) {
  const std::string digits = std::to_string(id);
  if (id < 0 || digits.size() > 18) return;  // keep the fast path overflow-free
  for (size_t pos = message.find(digits); pos != std::string_view::npos;
       pos = message.find(digits, pos + 1)) {
    const size_t end = pos + digits.size();
    if ((pos > 0 && IsNumberChar(message[pos - 1])) ||
        (end < message.size() && IsNumberChar(message[end]))) {
      continue;
    }
    // Prove the span is the top-level id: other digits there must parse as
    // exactly that id, with every other check still passing.
    std::string probe(message);
    probe[pos] = digits[0] == '9' ? '1' : static_cast<char>(digits[0] + 1);
    const int64_t expected = std::stoll(probe.substr(pos, digits.size()));
    int64_t probe_id = -1;
    std::string ignored;
    if (FullCheck(probe, &probe_id, &ignored) == Verdict::kOk &&
        probe_id == expected) {
      templates_.push_back({std::string(message), pos, digits.size()});
      return;
    }
  }
}

}  // namespace mcp_bench
