#include "mcp_server/yaml_json.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <regex>
#include <sstream>

namespace hpc::mcp {
namespace {

using json = nlohmann::json;

json Scalar(const YAML::Node& node) {
  const std::string& s = node.Scalar();
  if (node.Tag() == "!") return s;  // Quoted: always a string.
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL")
    return nullptr;
  static const std::regex kInt("[-+]?[0-9]+");
  static const std::regex kFloat(
      "[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?");
  if (std::regex_match(s, kInt)) {
    int64_t v = 0;
    const char* b = s.data() + (s[0] == '+' ? 1 : 0);
    auto [p, ec] = std::from_chars(b, s.data() + s.size(), v);
    if (ec == std::errc() && p == s.data() + s.size()) return v;
  }
  if (std::regex_match(s, kFloat)) return std::stod(s);
  return s;
}

json Convert(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Scalar:
      return Scalar(node);
    case YAML::NodeType::Sequence: {
      json a = json::array();
      for (const auto& item : node) a.push_back(Convert(item));
      return a;
    }
    case YAML::NodeType::Map: {
      json o = json::object();
      for (const auto& kv : node) o[kv.first.as<std::string>()] = Convert(kv.second);
      return o;
    }
  }
  return nullptr;
}

}  // namespace

Result<nlohmann::json> YamlToJson(std::string_view text, std::string_view source) {
  try {
    return Convert(YAML::Load(std::string(text)));
  } catch (const YAML::Exception& e) {
    return InvalidArgument(std::string(source) + ":" +
                           std::to_string(e.mark.line + 1) + ":" +
                           std::to_string(e.mark.column + 1) +
                           ": invalid YAML: " + e.msg);
  }
}

int YamlLineOf(const YAML::Node& root, const std::string& pointer,
               const std::string& message) {
  if (!root.IsDefined() || root.IsNull()) return 1;
  YAML::Node node = root;
  std::stringstream tokens(pointer);
  std::string token;
  std::getline(tokens, token, '/');  // The empty token before the first '/'.
  while (std::getline(tokens, token, '/')) {
    YAML::Node next;
    if (node.IsMap()) {
      next = node[token];
    } else if (node.IsSequence()) {
      size_t i = std::strtoul(token.c_str(), nullptr, 10);
      if (i < node.size()) next = node[i];
    }
    if (!next.IsDefined()) break;
    node = next;
  }
  static const std::regex kUnknown("unknown property '([^']+)'");
  std::smatch m;
  if (node.IsMap() && std::regex_search(message, m, kUnknown)) {
    for (const auto& kv : node)
      if (kv.first.Scalar() == m[1].str()) return kv.first.Mark().line + 1;
  }
  return node.Mark().line + 1;
}

}  // namespace hpc::mcp
