// The notification config: YAML checked against schemas/notify.json, then
// the rules the schema cannot say without if/then (which fields each kind
// needs and refuses), in C++. Every error reads
// "<file>:<line>: <field>: <what is wrong and what to write>".

#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "mcp_server/assets.h"
#include "mcp_server/json_rpc.h"
#include "mcp_server/schema.h"
#include "mcp_server/yaml_json.h"
#include "tools/notify/internal.h"
#include "tools/notify/notify.h"
#include "tools/registry.h"

namespace hpc::notify {
namespace {

using nlohmann::json;

constexpr char kSchemaPath[] = "schemas/notify.json";
constexpr size_t kMaxConfigBytes = 1 << 20;

// "/channels/1/token_file" -> "channels[1].token_file".
std::string FieldName(const std::string& pointer) {
  if (pointer.empty()) return "(top level)";
  std::string out, token;
  std::stringstream tokens(pointer.substr(1));
  while (std::getline(tokens, token, '/')) {
    bool index = !token.empty() && !out.empty() &&
                 token.find_first_not_of("0123456789") == std::string::npos;
    out += index ? "[" + token + "]" : (out.empty() ? "" : ".") + token;
  }
  return out;
}

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

std::vector<std::string> Strings(const json& j, const char* key) {
  std::vector<std::string> out;
  if (auto it = j.find(key); it != j.end() && it->is_array())
    for (const auto& v : *it) out.push_back(v.get<std::string>());
  return out;
}

// The fields each kind takes besides kind and events, and what to write for
// each one it needs.
struct KindRules {
  std::set<std::string> fields;
  std::vector<std::pair<std::string, std::string>> required;  // field, example
};

const std::map<std::string, KindRules>& Rules() {
  static const auto* rules = new std::map<std::string, KindRules>{
      {"webhook",
       {{"url", "token_file"},
        {{"url",
          "url: https://hooks.example.org/hpc (the endpoint that "
          "receives the JSON POST)"}}}},
      {"ntfy",
       {{"url", "token_file"}, {{"url", "url: https://ntfy.sh/<your topic>"}}}},
      {"telegram",
       {{"chat_id", "token_file", "api_base"},
        {{"chat_id",
          "chat_id: \"123456789\" (the chat with your bot: send "
          "it a message, then read chat.id from getUpdates)"},
         {"token_file",
          "token_file: ~/.config/hpc-mcp/telegram_bot_token "
          "(a file holding only the token @BotFather gave "
          "you)"}}}},
      {"command",
       {{"argv"},
        {{"argv",
          "argv: [notify-send, hpc-mcp] (the program and its "
          "arguments; no shell reads them)"}}}},
  };
  return *rules;
}

std::string Join(const std::set<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

using FailAt = std::function<Status(const std::string& pointer,
                                    const std::string& message)>;

Result<Channel> ParseChannel(const json& j, const std::string& at,
                             const FailAt& fail) {
  Channel ch;
  ch.kind = j["kind"].get<std::string>();
  const KindRules& rules = Rules().at(ch.kind);
  for (const auto& [key, value] : j.items()) {
    if (key == "kind" || key == "events" || rules.fields.count(key)) continue;
    return fail(at + "/" + key, "is not used by a " + ch.kind +
                                    " channel (it takes " + Join(rules.fields) +
                                    "); remove it");
  }
  for (const auto& [field, example] : rules.required)
    if (!j.contains(field))
      return fail(at, "a " + ch.kind + " channel needs " + example);

  ch.url = Str(j, "url");
  ch.events = Strings(j, "events");
  ch.argv = Strings(j, "argv");
  if (auto it = j.find("chat_id"); it != j.end())
    ch.chat_id = it->is_string() ? it->get<std::string>() : it->dump();
  if (j.contains("api_base")) ch.api_base = Str(j, "api_base");
  if (j.contains("token_file")) {
    ch.token_file = internal::ExpandHome(Str(j, "token_file"));
    if (ch.token_file.empty())
      return fail(at + "/token_file",
                  "starts with ~ but HOME is not set; write an absolute path");
  }

  for (const char* key : {"url", "api_base"}) {
    if (!j.contains(key)) continue;
    auto url = internal::ParseHttpUrl(Str(j, key));
    if (!url.ok()) return fail(at + "/" + key, url.status().message());
    if (url->has_userinfo)
      return fail(at + "/" + key,
                  "carries user:password@, and secrets stay out of this file: "
                  "remove it and put an access token in token_file (sent as "
                  "Authorization: Bearer)");
    if (ch.kind == "ntfy" && url->path == "/")
      return fail(at + "/url",
                  "names no topic; write the server and the topic, e.g. "
                  "https://ntfy.sh/my-runs");
  }
  for (size_t i = 0; i < ch.argv.size(); ++i)
    if (ch.argv[i].find('\0') != std::string::npos)
      return fail(at + "/argv/" + std::to_string(i),
                  "holds a NUL byte, which no program can receive; remove it");
  return ch;
}

// valijson's words for an anyOf miss say nothing a person can act on.
std::string Explain(const mcp::SchemaViolation& v) {
  if (v.path.ends_with("/chat_id"))
    return "must be a chat id (a number such as 123456789 or -1001234567890) "
           "or @channelusername";
  if (v.path.empty() && v.message.find("channels") != std::string::npos)
    return v.message +
           "; list where notices go, e.g. channels: [{kind: ntfy, url: "
           "https://ntfy.sh/my-runs}]";
  return v.message;
}

Result<Config> Parse(std::string_view yaml_text, const std::string& src) {
  Result<json> doc = mcp::YamlToJson(yaml_text, src);
  if (!doc.ok()) return doc.status();
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception&) {
    // YamlToJson accepted it; without the node tree errors say line 1.
  }
  FailAt fail = [&](const std::string& pointer, const std::string& message) {
    return InvalidArgument(src + ":" +
                           std::to_string(mcp::YamlLineOf(root, pointer, message)) +
                           ": " + FieldName(pointer) + ": " + message);
  };
  if (doc->is_null())
    return InvalidArgument(src +
                           ":1: the file is empty; list where notices go under "
                           "channels: (see the README, Notifications)");
  if (!doc->is_object())
    return fail("",
                "a notification config is a YAML mapping (events:, "
                "channels:, retries:, timeout_s:)");
  auto violations = tools::HpcSchema(kSchemaPath).Validate(*doc);
  if (!violations.empty())
    return fail(violations.front().path, Explain(violations.front()));
  tools::HpcSchema(kSchemaPath).ApplyDefaults(*doc);

  const json& j = *doc;
  Config config;
  config.source = src;
  config.events = Strings(j, "events");
  config.retries = j["retries"].get<int>();
  config.timeout = std::chrono::seconds(j["timeout_s"].get<int>());
  const json& channels = j["channels"];
  for (size_t i = 0; i < channels.size(); ++i) {
    auto channel =
        ParseChannel(channels[i], "/channels/" + std::to_string(i), fail);
    if (!channel.ok()) return channel.status();
    config.channels.push_back(std::move(*channel));
  }
  return config;
}

}  // namespace

namespace internal {

std::string ExpandHome(const std::string& path) {
  if (path != "~" && path.rfind("~/", 0) != 0) return path;
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home == '\0') return "";
  return std::string(home) + path.substr(1);
}

}  // namespace internal

std::string Channel::Describe() const {
  if (kind == "telegram") {
    std::string d = "telegram chat " + chat_id;
    if (api_base != internal::kDefaultApiBase) {
      auto base = internal::ParseHttpUrl(api_base);
      d +=
          " via " + (base.ok() ? base->Shown() : std::string("(bad api_base)"));
    }
    return d;
  }
  if (kind == "command")
    return "command " + (argv.empty() ? std::string("(no argv)") : argv[0]);
  auto u = internal::ParseHttpUrl(url);
  return kind + " " + (u.ok() ? u->Shown() : std::string("(bad url)"));
}

bool Config::Wants(const Channel& channel, const std::string& event) const {
  const auto& wanted = channel.events.empty() ? events : channel.events;
  return std::find(wanted.begin(), wanted.end(), event) != wanted.end();
}

Result<Config> ParseConfig(std::string_view yaml_text,
                           std::string_view source) {
  try {
    return Parse(yaml_text, std::string(source));
  } catch (const std::exception& e) {
    // The schema vouched for every type read above; this is a bug.
    return Internal(std::string(source) +
                    ": reading the config failed: " + e.what());
  }
}

Result<Config> LoadConfig(const std::string& path) {
  std::string p = internal::ExpandHome(path);
  if (p.empty())
    return NotFound("no notification config: " +
                    (path.empty()
                         ? std::string("no path (neither "
                                       "XDG_CONFIG_HOME nor HOME is "
                                       "set)")
                         : path + " starts with ~ but HOME is not set"));
  struct stat st;
  if (::stat(p.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR)
      return NotFound(p +
                      " does not exist; write it to get notices (see the "
                      "README, Notifications)");
    return FailedPrecondition(p + " cannot be read: " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode))
    return FailedPrecondition(p +
                              " is not a regular file; the notification "
                              "config is a YAML file");
  if (static_cast<size_t>(st.st_size) > kMaxConfigBytes)
    return FailedPrecondition(p +
                              " is larger than 1 MiB; a notification "
                              "config is a few lines");
  std::ifstream in(p, std::ios::binary);
  if (!in) return FailedPrecondition(p + " cannot be opened for reading");
  std::stringstream text;
  text << in.rdbuf();
  return ParseConfig(text.str(), p);
}

std::string DefaultConfigPath() {
  // The XDG base directory spec ignores a relative XDG_CONFIG_HOME.
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg && *xdg == '/')
    return std::string(xdg) + "/hpc-mcp/notify.yaml";
  if (const char* home = std::getenv("HOME"); home && *home)
    return std::string(home) + "/.config/hpc-mcp/notify.yaml";
  return "";
}

}  // namespace hpc::notify
