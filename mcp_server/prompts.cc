#include "mcp_server/prompts.h"

#include "mcp_server/yaml_json.h"

namespace hpc::mcp {

using json = nlohmann::json;

void SplitFrontMatter(std::string_view text, std::string_view* front,
                      std::string_view* body) {
  *front = {};
  *body = text;
  if (text.substr(0, 4) != "---\n") return;
  size_t end = text.find("\n---\n", 3);
  size_t skip = 5;
  if (end == std::string_view::npos) {
    if (text.size() >= 4 && text.substr(text.size() - 4) == "\n---") {
      end = text.size() - 4;
      skip = 4;
    } else {
      return;
    }
  }
  *front = text.substr(4, end - 3);
  *body = text.substr(end + skip);
  while (!body->empty() && body->front() == '\n') body->remove_prefix(1);
}

Result<PromptFile> ParsePromptMarkdown(std::string_view text,
                                       std::string_view source) {
  std::string_view front, body;
  SplitFrontMatter(text, &front, &body);
  std::string src(source);
  if (front.empty())
    return InvalidArgument(src + ": a prompt file starts with YAML front "
                                 "matter between two '---' lines");
  Result<json> meta = YamlToJson(front, source);
  if (!meta.ok()) return meta.status();
  if (!meta->is_object() || !(*meta)["name"].is_string())
    return InvalidArgument(src + ": front matter needs a string 'name'");
  PromptFile out;
  out.body = std::string(body);
  for (const char* key : {"name", "title", "description"}) {
    if (!meta->contains(key)) continue;
    if (!(*meta)[key].is_string())
      return InvalidArgument(src + ": '" + key + "' must be a string");
    out.definition[key] = (*meta)[key];
  }
  if (meta->contains("arguments")) {
    const json& args = (*meta)["arguments"];
    if (!args.is_array())
      return InvalidArgument(src + ": 'arguments' must be a list");
    json list = json::array();
    for (const json& a : args) {
      if (!a.is_object() || !a["name"].is_string())
        return InvalidArgument(src + ": each argument needs a string 'name'");
      json arg{{"name", a["name"]}};
      if (a.contains("title")) arg["title"] = a["title"];
      if (a.contains("description")) arg["description"] = a["description"];
      if (a.contains("required")) {
        if (!a["required"].is_boolean())
          return InvalidArgument(src + ": 'required' of argument " +
                                 a["name"].get<std::string>() +
                                 " must be true or false");
        arg["required"] = a["required"];
      }
      list.push_back(std::move(arg));
    }
    out.definition["arguments"] = std::move(list);
  }
  if (meta->contains("completions")) {
    const json& c = (*meta)["completions"];
    if (!c.is_object())
      return InvalidArgument(src + ": 'completions' must map argument names "
                                   "to lists of values");
    for (auto it = c.begin(); it != c.end(); ++it) {
      if (!it->is_array())
        return InvalidArgument(src + ": completions." + it.key() +
                               " must be a list");
      for (const json& v : *it)
        out.completions[it.key()].push_back(v.is_string() ? v.get<std::string>()
                                                          : v.dump());
    }
  }
  return out;
}

std::string RenderTemplate(std::string_view body, const json& arguments) {
  std::string out;
  out.reserve(body.size());
  size_t i = 0;
  while (i < body.size()) {
    size_t open = body.find("{{", i);
    if (open == std::string_view::npos) break;
    size_t close = body.find("}}", open + 2);
    if (close == std::string_view::npos) break;
    out.append(body.substr(i, open - i));
    std::string name(body.substr(open + 2, close - open - 2));
    while (!name.empty() && name.front() == ' ') name.erase(0, 1);
    while (!name.empty() && name.back() == ' ') name.pop_back();
    if (arguments.is_object() && arguments.contains(name) &&
        arguments[name].is_string())
      out += arguments[name].get<std::string>();
    i = close + 2;
  }
  out.append(body.substr(i));
  return out;
}

}  // namespace hpc::mcp
