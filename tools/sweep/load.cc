// Loading a sweep: schemas/sweep.json, then the rules a schema cannot say
// (sweep.h), each error naming the field and what to do about it.

#include <algorithm>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>

#include "mcp_server/schema.h"
#include "mcp_server/yaml_json.h"
#include "tools/cluster/job_request.h"
#include "tools/registry.h"
#include "tools/sweep/internal.h"
#include "tools/sweep/sweep.h"

namespace hpc::sweep {
namespace {

using nlohmann::json;

// The fields a phase takes from the sweep's top level when it has none.
constexpr const char* kInherited[] = {
    "command",       "id",  "parameters", "expected_outputs",
    "preconditions", "env", "workdir",    "resources"};

constexpr const char* kRetryCategories[] = {"gpu_oom", "host_oom", "node_fail",
                                            "preempted"};

// Names a job's environment relies on: a parameter exported under one of
// them would break the job (PATH), its GPUs (CUDA_VISIBLE_DEVICES), its
// scheduler (SLURM_*) or hpc-mcp's wrapper (HPC_*).
bool ReservedEnvName(const std::string& name) {
  static const char* kNames[] = {"_",       "PATH",   "HOME", "USER",
                                 "LOGNAME", "SHELL",  "PWD",  "OLDPWD",
                                 "IFS",     "TMPDIR", "TERM", "LANG"};
  static const char* kPrefixes[] = {"LD_",   "SLURM_", "SGE_", "HPC_",
                                    "BASH_", "LC_",    "CUDA_"};
  for (const char* n : kNames)
    if (name == n) return true;
  for (const char* p : kPrefixes)
    if (name.rfind(p, 0) == 0) return true;
  return false;
}

bool Contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

std::string Escape(const std::string& token) {
  std::string out;
  for (char c : token)
    out += c == '~' ? "~0" : c == '/' ? "~1" : std::string(1, c);
  return out;
}

// A value as it is written into commands (sweep.h ParameterSpace).
std::string ValueText(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_unsigned()) return std::to_string(v.get<uint64_t>());
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  return v.dump();
}

// The first key that is not a name where keys must be names (grid, list
// sets, env), as (pointer of its object, message). The schema refuses it
// too, but valijson's message names only the enclosing property.
std::optional<std::pair<std::string, std::string>> BadKey(const json& doc) {
  auto names = [](const json& object, size_t max,
                  const char* what) -> std::optional<std::string> {
    if (!object.is_object()) return std::nullopt;
    for (const auto& [key, value] : object.items())
      if (!IsParameterName(key) || key.size() > max)
        return "'" + key + "' is not " + what +
               ": use letters, digits and _, not starting with a digit, at "
               "most " +
               std::to_string(max) + " characters";
    return std::nullopt;
  };
  std::vector<std::string> scopes = {""};
  if (doc.contains("phases") && doc["phases"].is_array())
    for (size_t i = 0; i < doc["phases"].size(); ++i)
      scopes.push_back("/phases/" + std::to_string(i));
  for (const std::string& at : scopes) {
    const json& scope = doc.at(json::json_pointer(at));
    if (!scope.is_object()) continue;
    if (auto e = scope.find("env"); e != scope.end())
      if (auto why = names(*e, 128, "an environment variable name"))
        return std::pair(at + "/env", *why);
    auto p = scope.find("parameters");
    if (p == scope.end() || !p->is_object()) continue;
    if (auto g = p->find("grid"); g != p->end())
      if (auto why = names(*g, 64, "a parameter name"))
        return std::pair(at + "/parameters/grid", *why);
    if (auto l = p->find("list"); l != p->end() && l->is_array())
      for (size_t i = 0; i < l->size(); ++i)
        if (auto why = names((*l)[i], 64, "a parameter name"))
          return std::pair(at + "/parameters/list/" + std::to_string(i), *why);
  }
  return std::nullopt;
}

class Loader {
 public:
  explicit Loader(Sweep& sweep) : s_(sweep) {}

  Status Load() {
    const json& doc = s_.document;
    s_.name = doc["name"].get<std::string>();
    s_.description = doc.value("description", "");
    s_.precondition_wait_seconds = doc.value("precondition_wait_seconds", 30);
    if (doc.contains("phases")) {
      for (size_t i = 0; i < doc["phases"].size(); ++i)
        HPC_RETURN_IF_ERROR(LoadPhase("/phases/" + std::to_string(i)));
    } else if (doc.contains("command")) {
      HPC_RETURN_IF_ERROR(LoadPhase(""));
    } else {
      return Fail("",
                  "a sweep needs a command (a one-phase sweep: command "
                  "and parameters at the top level) or phases (each "
                  "with its command)");
    }
    HPC_RETURN_IF_ERROR(internal::ResolveDependencies(s_));
    HPC_RETURN_IF_ERROR(internal::OrderPhases(s_));
    LoadRetry();
    return LoadAggregate();
  }

 private:
  Status Fail(const std::string& pointer, const std::string& message) const {
    return internal::Error(s_, pointer, message);
  }

  // The phase at `at` ("" for a one-phase sweep), its fields merged with
  // the top level's.
  Status LoadPhase(const std::string& at) {
    const json& doc = s_.document;
    const json& own = at.empty() ? doc : doc.at(json::json_pointer(at));
    Phase p;
    p.pointer = at;
    p.name = at.empty() ? s_.name : own["name"].get<std::string>();
    if (!at.empty() && s_.PhaseIndex(p.name) >= 0)
      return Fail(at + "/name", "'" + p.name +
                                    "' names two phases; give each phase its "
                                    "own name");
    json merged = json::object();
    for (const char* field : kInherited) {
      if (own.contains(field)) {
        merged[field] = own[field];
        p.declared_at.emplace_back(field, at + "/" + field);
      } else if (doc.contains(field)) {
        merged[field] = doc[field];
        p.declared_at.emplace_back(field, std::string("/") + field);
      }
    }
    if (!merged.contains("command"))
      return Fail(at, "phase '" + p.name + "' has no command: give " +
                          FieldName(at) +
                          ".command, or a command at the top "
                          "level for every phase");
    if (merged.contains("parameters"))
      HPC_RETURN_IF_ERROR(LoadParameters(merged["parameters"],
                                         p.At("parameters"), p.parameters));
    HPC_RETURN_IF_ERROR(CheckParameterNames(p));
    p.vars = p.parameters.Names();
    for (const char* b : kBuiltins) p.vars.push_back(b);
    HPC_RETURN_IF_ERROR(LoadTemplates(merged, at, p));
    HPC_RETURN_IF_ERROR(CheckListCoversPlaceholders(p));
    LoadResources(merged, p);
    if (!at.empty() && own.contains("depends_on")) {
      for (const json& d : own["depends_on"]) {
        Dependency dep;
        if (d.is_string()) {
          dep.phase = d.get<std::string>();
        } else {
          dep.phase = d["phase"].get<std::string>();
          if (d.contains("match"))
            dep.match = d["match"].get<std::vector<std::string>>();
        }
        p.depends_on.push_back(std::move(dep));
      }
    }
    s_.phases.push_back(std::move(p));
    return Status::Ok();
  }

  Status LoadParameters(const json& j, const std::string& at,
                        ParameterSpace& out) {
    if (j.contains("grid") && j.contains("list"))
      return Fail(at,
                  "has both grid and list: use grid for every "
                  "combination of values or list for explicit sets "
                  "(seeds cross with either)");
    auto text = [&](const json& v,
                    const std::string& where) -> Result<std::string> {
      std::string t = ValueText(v);
      if (t.find('\0') != std::string::npos)
        return Fail(where,
                    "contains a NUL byte, which no argument or "
                    "environment variable can hold");
      return t;
    };
    if (j.contains("grid")) {
      for (const auto& [name, values] : j["grid"].items()) {
        std::vector<std::string> texts;
        for (size_t i = 0; i < values.size(); ++i) {
          auto t =
              text(values[i], at + "/grid/" + name + "/" + std::to_string(i));
          if (!t.ok()) return t.status();
          texts.push_back(std::move(*t));
        }
        out.grid.emplace_back(name, std::move(texts));
      }
    }
    if (j.contains("list")) {
      for (size_t i = 0; i < j["list"].size(); ++i) {
        std::vector<std::pair<std::string, std::string>> set;
        for (const auto& [name, value] : j["list"][i].items()) {
          auto t = text(value, at + "/list/" + std::to_string(i) + "/" + name);
          if (!t.ok()) return t.status();
          set.emplace_back(name, std::move(*t));
        }
        out.list.push_back(std::move(set));
      }
    }
    if (j.contains("seeds"))
      for (const json& seed : j["seeds"]) out.seeds.push_back(ValueText(seed));
    out.seed_name = j.value("seed_name", kDefaultSeedName);
    if (!out.seeds.empty()) {
      bool in_grid =
          std::any_of(out.grid.begin(), out.grid.end(),
                      [&](const auto& g) { return g.first == out.seed_name; });
      bool in_list =
          std::any_of(out.list.begin(), out.list.end(), [&](const auto& set) {
            return std::any_of(set.begin(), set.end(), [&](const auto& kv) {
              return kv.first == out.seed_name;
            });
          });
      if (in_grid || in_list)
        return Fail(at + "/seeds",
                    "are bound to parameter '" + out.seed_name + "', which " +
                        (in_grid ? "grid" : "list") +
                        " also sets: drop it there, or bind the seeds to "
                        "another name with seed_name");
    }
    return Status::Ok();
  }

  Status CheckParameterNames(const Phase& p) {
    const std::string at = p.At("parameters");
    std::map<std::string, std::string> by_env;
    for (const std::string& name : p.parameters.Names()) {
      for (const char* b : kBuiltins)
        if (name == b)
          return Fail(at, "parameter '" + name +
                              "' would hide the built-in ${" + name +
                              "}; rename it");
      if (ReservedEnvName(name))
        return Fail(at, "parameter '" + name +
                            "' would replace the job's own environment "
                            "variable of that name (it is exported to each "
                            "task); rename it");
      auto [it, fresh] = by_env.emplace(ParamEnvName(name), name);
      if (!fresh)
        return Fail(at, "parameters '" + it->second + "' and '" + name +
                            "' would both be exported as " + it->first +
                            "; rename one of them");
    }
    return Status::Ok();
  }

  // `text` at `pointer`, bound to `vars`.
  Result<Template> Compile(const std::string& text, const std::string& pointer,
                           const std::vector<std::string>& vars,
                           const std::string& known) {
    if (text.find('\0') != std::string::npos)
      return Fail(pointer,
                  "contains a NUL byte, which no argument, path or "
                  "environment variable can hold");
    auto t = Template::Parse(text);
    if (!t.ok()) return Fail(pointer, t.status().message());
    std::string unknown = t->Bind(vars);
    if (!unknown.empty())
      return Fail(pointer, "${" + unknown + "} names no parameter; " + known);
    for (const std::string& name : t->Names())
      if (!uses_.count(name)) uses_[name] = pointer;
    return t;
  }

  std::string Known(const Phase& p) const {
    std::vector<std::string> params = p.parameters.Names();
    return "phase '" + p.name + "' knows " +
           (params.empty() ? std::string("no parameters")
                           : "the parameters " + internal::Join(params)) +
           " and the built-ins sweep, phase, index, id";
  }

  Status LoadTemplates(const json& merged, const std::string& at, Phase& p) {
    uses_.clear();
    const std::string known = Known(p);
    for (size_t i = 0; i < merged["command"].size(); ++i) {
      auto t =
          Compile(merged["command"][i].get<std::string>(),
                  p.At("command") + "/" + std::to_string(i), p.vars, known);
      if (!t.ok()) return t.status();
      p.command.push_back(std::move(*t));
    }
    std::string id_text;
    std::string id_at = p.At("id");
    if (merged.contains("id")) {
      id_text = merged["id"].get<std::string>();
    } else {
      // The default: "teacher_N${N}_seed${seed}", from the parameters
      // every set defines (a list's sets may differ).
      id_text = p.name;
      for (const std::string& name : p.parameters.Names())
        if (p.parameters.DefinedInEverySet(name))
          id_text += "_" + name + "${" + name + "}";
      id_at = at;
    }
    std::vector<std::string> id_vars = p.vars;
    id_vars.pop_back();  // "id": the id cannot contain itself.
    auto id = Compile(id_text, id_at, id_vars,
                      Known(p) + " (not ${id}: this is the id being defined)");
    if (!id.ok()) return id.status();
    p.id = std::move(*id);
    p.id.Bind(p.vars);  // Same slots as the other templates.
    for (const char* field : {"expected_outputs", "preconditions"}) {
      if (!merged.contains(field)) continue;
      auto& out = std::string(field) == "expected_outputs" ? p.expected_outputs
                                                           : p.preconditions;
      for (size_t i = 0; i < merged[field].size(); ++i) {
        auto t = Compile(merged[field][i].get<std::string>(),
                         p.At(field) + "/" + std::to_string(i), p.vars, known);
        if (!t.ok()) return t.status();
        out.push_back(std::move(*t));
      }
    }
    if (merged.contains("env")) {
      std::map<std::string, std::string> generated = {
          {kEnvSweep, "the sweep's name"},
          {kEnvPhase, "the phase's name"},
          {kEnvTask, "the task id"}};
      for (const std::string& name : p.parameters.Names()) {
        generated[ParamEnvName(name)] = "parameter '" + name + "'";
        generated[name] = "parameter '" + name + "'";
      }
      for (const auto& [key, value] : merged["env"].items()) {
        const std::string pointer = p.At("env") + "/" + Escape(key);
        if (auto g = generated.find(key); g != generated.end())
          return Fail(pointer, "is set for every task from " + g->second +
                                   "; remove it from env");
        auto t = Compile(value.get<std::string>(), pointer, p.vars, known);
        if (!t.ok()) return t.status();
        p.env.emplace_back(key, std::move(*t));
      }
    }
    if (merged.contains("workdir")) p.workdir = merged["workdir"];
    return Status::Ok();
  }

  // A list's sets may differ in their keys, but every placeholder must
  // have a value in every set.
  Status CheckListCoversPlaceholders(const Phase& p) {
    const auto& list = p.parameters.list;
    for (const auto& [name, pointer] : uses_) {
      if (!Contains(p.parameters.Names(), name) ||
          (name == p.parameters.seed_name && !p.parameters.seeds.empty()))
        continue;
      for (size_t i = 0; i < list.size(); ++i) {
        bool has =
            std::any_of(list[i].begin(), list[i].end(),
                        [&](const auto& kv) { return kv.first == name; });
        if (!has)
          return Fail(p.At("parameters") + "/list/" + std::to_string(i),
                      "does not set '" + name + "', which " +
                          FieldName(pointer) +
                          " uses: give every set a value for it");
      }
    }
    return Status::Ok();
  }

  void LoadResources(const json& merged, Phase& p) {
    if (!merged.contains("resources")) return;
    const json& r = merged["resources"];
    p.resources_json = r;
    p.resources = cluster::ResourcesFromJson(r);
  }

  void LoadRetry() {
    const json& retry = s_.document["retry"];  // Defaults applied.
    for (const char* category : kRetryCategories) {
      const json& r = retry[category];
      s_.retry.rules[category] = {r["max_attempts"].get<int>(),
                                  r["delay_seconds"].get<int>()};
    }
  }

  Status LoadAggregate() {
    if (!s_.document.contains("aggregate")) return Status::Ok();
    const json& a = s_.document["aggregate"];
    const std::vector<std::string> vars = {"sweep"};
    const std::string known =
        "the aggregation runs once for the whole sweep, so ${sweep} is the "
        "only placeholder it knows";
    uses_.clear();
    Aggregate agg;
    for (size_t i = 0; i < a["command"].size(); ++i) {
      auto t = Compile(a["command"][i].get<std::string>(),
                       "/aggregate/command/" + std::to_string(i), vars, known);
      if (!t.ok()) return t.status();
      agg.command.push_back(std::move(*t));
    }
    auto out = Compile(a["output"].get<std::string>(), "/aggregate/output",
                       vars, known);
    if (!out.ok()) return out.status();
    agg.output = std::move(*out);
    s_.aggregate = std::move(agg);
    return Status::Ok();
  }

  Sweep& s_;
  std::map<std::string, std::string> uses_;  // Placeholder -> first use.
};

Result<Sweep> Load(json document, std::string_view source,
                   std::shared_ptr<const YAML::Node> yaml) {
  Sweep s;
  s.source = std::string(source);
  s.yaml = std::move(yaml);
  if (!document.is_object())
    return InvalidArgument(
        s.source +
        ": a sweep is a mapping (name:, command:, parameters:, "
        "phases:, ...), not " +
        std::string(document.type_name()));
  if (auto bad = BadKey(document))
    return internal::Error(s, bad->first, bad->second);
  const mcp::JsonSchema& schema = tools::HpcSchema(kSchemaPath);
  auto violations = schema.Validate(document);
  if (!violations.empty()) {
    const mcp::SchemaViolation& v = violations.front();
    std::string where = s.source;
    if (s.yaml)
      where +=
          ":" + std::to_string(mcp::YamlLineOf(*s.yaml, v.path, v.message));
    if (!v.path.empty()) where += ": " + FieldName(v.path);
    return InvalidArgument(where + ": " + v.message);
  }
  schema.ApplyDefaults(document);
  s.document = std::move(document);
  Loader loader(s);
  HPC_RETURN_IF_ERROR(loader.Load());
  return s;
}

}  // namespace

std::string FieldName(const std::string& pointer) {
  if (pointer.empty()) return "(top level)";
  std::string out, token;
  std::stringstream tokens(pointer.substr(1));
  while (std::getline(tokens, token, '/')) {
    std::string t;
    for (size_t i = 0; i < token.size(); ++i) {
      if (token[i] == '~' && i + 1 < token.size()) {
        t += token[i + 1] == '1' ? '/' : '~';
        ++i;
      } else {
        t += token[i];
      }
    }
    bool index = !t.empty() && !out.empty() &&
                 t.find_first_not_of("0123456789") == std::string::npos;
    out += index ? "[" + t + "]" : (out.empty() ? "" : ".") + t;
  }
  return out;
}

std::string Sweep::Where(const std::string& pointer) const {
  std::string w = source;
  if (yaml) {
    // yaml-cpp's lookups are not safe to run concurrently, even on a tree
    // nobody changes; errors are rare, so one lock for all sweeps.
    static std::mutex mu;
    std::lock_guard lock(mu);
    w += ":" + std::to_string(mcp::YamlLineOf(*yaml, pointer, ""));
  }
  if (!pointer.empty()) w += ": " + FieldName(pointer);
  return w;
}

Result<Sweep> LoadSweep(const nlohmann::json& document,
                        std::string_view source) {
  return Load(document, source, nullptr);
}

Result<Sweep> LoadSweepYaml(std::string_view text, std::string_view source) {
  auto root = std::make_shared<YAML::Node>();
  try {
    *root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return InvalidArgument(std::string(source) + ":" +
                           std::to_string(e.mark.line + 1) +
                           ": invalid YAML: " + e.msg);
  }
  auto doc = mcp::YamlToJson(text, source);
  if (!doc.ok()) return doc.status();
  return Load(std::move(*doc), source, std::move(root));
}

}  // namespace hpc::sweep
