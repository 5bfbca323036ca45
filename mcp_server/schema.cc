#include "mcp_server/schema.h"

#include <regex>
#include <set>
#include <stdexcept>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

namespace hpc::mcp {
namespace {

// valijson's context is {"<root>", "[name]", "[0]", ...}; we speak JSON
// pointers, the notation JSON Schema and the MCP spec use.
std::vector<std::string> ContextTokens(const std::vector<std::string>& ctx) {
  std::vector<std::string> out;
  for (size_t i = 1; i < ctx.size(); ++i) {
    const std::string& t = ctx[i];
    if (t.size() >= 2 && t.front() == '[' && t.back() == ']')
      out.push_back(t.substr(1, t.size() - 2));
    else
      out.push_back(t);
  }
  return out;
}

std::string ToPointer(const std::vector<std::string>& tokens) {
  std::string p;
  for (const auto& t : tokens) {
    p += '/';
    for (char c : t) p += c == '~' ? "~0" : c == '/' ? "~1" : std::string(1, c);
  }
  return p;
}

// Resolves local `$ref`s ("#/$defs/x") of `x` against `root`.
const json* Deref(const json& root, const json* x) {
  for (int hops = 0; hops < 8 && x->is_object() && x->contains("$ref"); ++hops) {
    const json& ref = (*x)["$ref"];
    if (!ref.is_string() || ref.get_ref<const std::string&>().rfind("#", 0) != 0)
      return x;
    try {
      x = &root.at(json::json_pointer(ref.get<std::string>().substr(1)));
    } catch (const std::exception&) {
      return x;
    }
  }
  return x;
}

// Follows `tokens` through properties/items of `root` to describe what the
// schema expected there; null when the path leaves the schema.
const json* SubSchema(const json& root, const std::vector<std::string>& tokens) {
  const json* s = &root;
  for (const auto& t : tokens) {
    s = Deref(root, s);
    if (!s->is_object()) return nullptr;
    auto props = s->find("properties");
    if (props != s->end() && props->is_object() && props->contains(t)) {
      s = &(*props)[t];
      continue;
    }
    auto items = s->find("items");
    if (items != s->end() && items->is_object()) {
      s = &*items;
      continue;
    }
    return nullptr;
  }
  return Deref(root, s);
}

std::string Expected(const json* s) {
  if (!s || !s->is_object()) return "";
  std::string e;
  auto add = [&](const std::string& part) { e += (e.empty() ? "" : ", ") + part; };
  if (s->contains("type")) add("type " + (*s)["type"].dump());
  if (s->contains("enum")) add("one of " + (*s)["enum"].dump());
  if (s->contains("const")) add("exactly " + (*s)["const"].dump());
  if (s->contains("pattern")) add("matching " + (*s)["pattern"].dump());
  for (const char* k : {"minimum", "maximum", "minLength", "maxLength",
                        "minItems", "maxItems"})
    if (s->contains(k)) add(std::string(k) + " " + (*s)[k].dump());
  return e.empty() ? "" : " (expected " + e + ")";
}

// valijson's wording, made direct for the model that has to fix its call.
std::string Rephrase(const std::string& text) {
  static const std::pair<const char*, const char*> kPhrases[] = {
      {"Value type not permitted by 'type' constraint.", "wrong type"},
      {"Failed to match against any enum values.", "not an allowed value"},
      {"Failed to match regex specified by 'pattern' constraint.",
       "does not match the required pattern"},
  };
  for (const auto& [from, to] : kPhrases)
    if (text == from) return to;
  const std::string kExtra =
      "Object contains a property that could not be validated using "
      "'properties' or 'additionalProperties' constraints: ";
  if (text.rfind(kExtra, 0) == 0)
    return "unknown property " + text.substr(kExtra.size()) +
           " (remove it; only the properties in the schema are accepted)";
  // valijson prints limits as doubles ("600000.000000").
  static const std::regex kTrailingZeros("([0-9]+)\\.0+\\b");
  std::string t = std::regex_replace(text, kTrailingZeros, "$1");
  if (!t.empty() && t.back() == '.') t.pop_back();
  return t;
}

// " (got <value>)" for scalars at `pointer` in `instance`.
std::string Got(const json& instance, const std::string& pointer) {
  try {
    const json& v = instance.at(json::json_pointer(pointer));
    if (v.is_structured()) return std::string(" (got ") + v.type_name() + ")";
    std::string d = v.dump();
    if (d.size() > 60) {
      size_t n = 57;  // Cut on a UTF-8 character boundary.
      while (n > 0 && (static_cast<unsigned char>(d[n]) & 0xC0) == 0x80) --n;
      d = d.substr(0, n) + "...";
    }
    return std::string(" (got ") + v.type_name() + " " + d + ")";
  } catch (const std::exception&) {
    return "";
  }
}

void ApplyDefaultsAt(const json& root, const json& schema, json& value,
                     int depth) {
  const json& s = *Deref(root, &schema);
  if (depth > 16 || !s.is_object() || !value.is_object()) return;
  auto props = s.find("properties");
  if (props == s.end() || !props->is_object()) return;
  for (auto it = props->begin(); it != props->end(); ++it) {
    const json& sub = *Deref(root, &it.value());
    if (!value.contains(it.key()) && sub.is_object() && sub.contains("default"))
      value[it.key()] = sub["default"];
    if (value.contains(it.key()))
      ApplyDefaultsAt(root, sub, value[it.key()], depth + 1);
  }
}

}  // namespace

Result<JsonSchema> JsonSchema::Compile(const json& schema, std::string_view what) {
  if (!schema.is_object() && !schema.is_boolean())
    return InvalidArgument(std::string(what) + " must be a JSON object");
  JsonSchema out;
  try {
    auto compiled = std::make_shared<valijson::Schema>();
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    valijson::adapters::NlohmannJsonAdapter adapter(schema);
    parser.populateSchema(adapter, *compiled);
    out.schema_ = std::move(compiled);
  } catch (const std::exception& e) {
    return InvalidArgument(std::string(what) + " is not a valid JSON Schema: " +
                           e.what());
  }
  out.source_ = std::make_shared<const json>(schema);
  return out;
}

std::vector<SchemaViolation> JsonSchema::Validate(const json& value,
                                                  size_t max) const {
  // valijson compiles each `pattern` into a std::regex cached in the
  // Validator (keyed by the pattern text): one Validator per thread keeps
  // that cache, where a fresh one per call recompiled every regex (~100 us).
  thread_local valijson::Validator validator;
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter target(value);
  if (validator.validate(*schema_, target, &results)) return {};
  // valijson reports each failure once per enclosing level ("failed to
  // validate property x" around "wrong type"); keep the innermost ones.
  std::vector<std::pair<std::vector<std::string>, std::string>> errors;
  valijson::ValidationResults::Error err;
  while (results.popError(err))
    errors.emplace_back(ContextTokens(err.context), err.description);
  std::vector<SchemaViolation> out;
  std::set<std::string> seen;
  for (size_t i = 0; i < errors.size() && out.size() < max; ++i) {
    const auto& [tokens, text] = errors[i];
    bool has_deeper = false;
    for (const auto& other : errors) {
      if (other.first.size() > tokens.size() &&
          std::equal(tokens.begin(), tokens.end(), other.first.begin())) {
        has_deeper = true;
        break;
      }
    }
    // Array-wide wrappers ("failed to validate item #0") add nothing once
    // the item's own error is reported.
    if (has_deeper && text.rfind("Failed to validate", 0) == 0) continue;
    std::string path = ToPointer(tokens);
    std::string message = Rephrase(text) + Expected(SubSchema(*source_, tokens)) +
                          Got(value, path);
    if (!seen.insert(path + "\n" + message).second) continue;
    out.push_back({path, message});
  }
  if (out.empty()) out.push_back({"", "value does not match the schema"});
  return out;
}

void JsonSchema::ApplyDefaults(json& value) const {
  ApplyDefaultsAt(*source_, *source_, value, 0);
}

std::string FormatViolations(const std::vector<SchemaViolation>& violations) {
  std::string s;
  for (const auto& v : violations) {
    if (!s.empty()) s += "; ";
    s += "at " + (v.path.empty() ? std::string("(root)") : v.path) + ": " +
         v.message;
  }
  return s;
}

}  // namespace hpc::mcp
