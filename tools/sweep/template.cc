#include "tools/sweep/template.h"

#include <algorithm>

namespace hpc::sweep {

bool IsParameterName(std::string_view name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_';
  });
}

Result<Template> Template::Parse(std::string_view text) {
  Template t;
  t.text_ = std::string(text);
  std::string literal;
  size_t i = 0;
  while (i < text.size()) {
    if (text.compare(i, 3, "$${") == 0) {  // Escaped: a literal "${".
      literal += "${";
      i += 3;
      continue;
    }
    if (text.compare(i, 2, "${") != 0) {
      literal += text[i++];
      continue;
    }
    size_t close = text.find('}', i + 2);
    std::string_view name = close == std::string_view::npos
                                ? std::string_view()
                                : text.substr(i + 2, close - i - 2);
    if (!IsParameterName(name)) {
      std::string_view bad = text.substr(
          i, std::min<size_t>(close == std::string_view::npos ? text.size() - i
                                                              : close - i + 1,
                              40));
      return InvalidArgument(
          "has a malformed placeholder '" + std::string(bad) +
          "': write ${name} with a parameter name (letters, digits, _), or "
          "$${ for a literal ${");
    }
    if (!literal.empty()) t.pieces_.push_back({std::move(literal), "", -1});
    literal.clear();
    t.pieces_.push_back({"", std::string(name), -1});
    i = close + 1;
  }
  if (!literal.empty()) t.pieces_.push_back({std::move(literal), "", -1});
  return t;
}

std::vector<std::string> Template::Names() const {
  std::vector<std::string> names;
  for (const Piece& p : pieces_)
    if (!p.name.empty() &&
        std::find(names.begin(), names.end(), p.name) == names.end())
      names.push_back(p.name);
  return names;
}

bool Template::HasPlaceholders() const {
  return std::any_of(pieces_.begin(), pieces_.end(),
                     [](const Piece& p) { return !p.name.empty(); });
}

std::string Template::Bind(const std::vector<std::string>& vars) {
  for (Piece& p : pieces_) {
    if (p.name.empty()) continue;
    auto it = std::find(vars.begin(), vars.end(), p.name);
    if (it == vars.end()) return p.name;
    p.slot = static_cast<int>(it - vars.begin());
  }
  return "";
}

std::string Template::Render(const std::vector<std::string>& values) const {
  size_t size = 0;
  for (const Piece& p : pieces_)
    size += p.name.empty() ? p.literal.size() : values[p.slot].size();
  std::string out;
  out.reserve(size);
  for (const Piece& p : pieces_)
    out += p.name.empty() ? p.literal : values[p.slot];
  return out;
}

}  // namespace hpc::sweep
