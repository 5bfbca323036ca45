#include "mcp_server/uri_template.h"

namespace hpc::mcp {

Result<UriTemplate> UriTemplate::Parse(std::string_view pattern) {
  UriTemplate t;
  size_t i = 0;
  while (i < pattern.size()) {
    size_t open = pattern.find('{', i);
    if (open == std::string_view::npos) {
      t.parts_.push_back({false, std::string(pattern.substr(i))});
      break;
    }
    if (open > i) t.parts_.push_back({false, std::string(pattern.substr(i, open - i))});
    size_t close = pattern.find('}', open);
    if (close == std::string_view::npos || close == open + 1)
      return InvalidArgument("URI template " + std::string(pattern) +
                             " has an unclosed or empty {}");
    std::string name(pattern.substr(open + 1, close - open - 1));
    for (char c : name)
      if (!(isalnum(static_cast<unsigned char>(c)) || c == '_'))
        return InvalidArgument("URI template " + std::string(pattern) +
                               ": only simple {name} variables are supported");
    if (!t.parts_.empty() && t.parts_.back().variable)
      return InvalidArgument("URI template " + std::string(pattern) +
                             ": two variables need a literal between them");
    t.parts_.push_back({true, name});
    i = close + 1;
  }
  return t;
}

std::optional<std::map<std::string, std::string>> UriTemplate::Match(
    std::string_view uri) const {
  std::map<std::string, std::string> vars;
  size_t pos = 0;
  for (size_t k = 0; k < parts_.size(); ++k) {
    const Part& p = parts_[k];
    if (!p.variable) {
      if (uri.substr(pos, p.text.size()) != p.text) return std::nullopt;
      pos += p.text.size();
      continue;
    }
    size_t end = pos;
    while (end < uri.size() && uri[end] != '/' && uri[end] != '?' && uri[end] != '#')
      ++end;
    // A following literal may end the variable earlier within the segment.
    if (k + 1 < parts_.size()) {
      size_t lit = uri.substr(0, end).find(parts_[k + 1].text, pos);
      if (lit != std::string_view::npos && parts_[k + 1].text.find('/') == std::string::npos)
        end = lit;
    }
    if (end == pos) return std::nullopt;
    vars[p.text] = std::string(uri.substr(pos, end - pos));
    pos = end;
  }
  if (pos != uri.size()) return std::nullopt;
  return vars;
}

}  // namespace hpc::mcp
