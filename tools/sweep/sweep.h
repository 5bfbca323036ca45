// A sweep: many tasks of one command template, run as one unit (issue 7:
// multi-seed grids, teacher-then-student phases).
//
// A sweep is declared as data, validated by schemas/sweep.json, given inline
// (a JSON value) or as a YAML or JSON file of the repository. Loading it
// validates the document, then checks what a schema cannot say, each error
// naming the field (with its line in a YAML file) and what to do:
// command or phases given; grid and list not both; every ${placeholder}
// naming a parameter every set defines or a built-in; depends_on naming
// existing phases, without a cycle, with match parameters defined on both
// sides; parameter names that neither hide a built-in nor clobber the
// job's environment.
//
// The pipeline: LoadSweep -> CountTasks (cheap: no task built, so a
// million-task grid is refused in microseconds) -> ExpandSweep (expand.h:
// one Task per parameter set) -> MakePlan (plan.h: scheduler arrays and
// waves).
//
// Thread-safety: a loaded Sweep is immutable; share it freely.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mcp_server/status.h"
#include "tools/cluster/scheduler.h"
#include "tools/sweep/retry.h"
#include "tools/sweep/template.h"

namespace hpc::sweep {

inline constexpr char kSchemaPath[] = "schemas/sweep.json";
// parameters.seed_name's default in the schema (a test keeps them equal).
inline constexpr char kDefaultSeedName[] = "seed";
// The built-in placeholders, after a phase's parameters in Phase::vars.
inline constexpr const char* kBuiltins[] = {"sweep", "phase", "index", "id"};

// Every task's environment gets, besides the profile's and the phase's
// env: HPC_PARAM_<NAME> (the parameter name upper-cased) and <name> itself
// for each parameter, so a script may read either spelling, and the
// built-ins below. A parameter whose name the job's environment relies on
// (PATH, HOME, LD_*, SLURM_*, HPC_*, ...) is refused when the sweep loads.
std::string ParamEnvName(std::string_view parameter);
inline constexpr char kEnvSweep[] = "HPC_SWEEP";        // The sweep's name.
inline constexpr char kEnvPhase[] = "HPC_SWEEP_PHASE";  // The phase's name.
inline constexpr char kEnvTask[] = "HPC_SWEEP_TASK";    // The task id.

// A phase's parameter sets. Values are kept as they are written into
// commands: strings verbatim, integers in decimal, other numbers as JSON
// writes them, booleans as true/false.
struct ParameterSpace {
  // Name -> values, by name. Every combination; the last name varies
  // fastest.
  std::vector<std::pair<std::string, std::vector<std::string>>> grid;
  // Explicit sets, each a list of (name, value) sorted by name.
  std::vector<std::vector<std::pair<std::string, std::string>>> list;
  // Crossed with the grid or the list, varying slowest.
  std::vector<std::string> seeds;
  std::string seed_name = kDefaultSeedName;

  // How many sets: the product of the sizes, saturating at UINT64_MAX.
  // Builds nothing.
  uint64_t Count() const;
  // Every name some set defines, sorted.
  std::vector<std::string> Names() const;
  // Whether every set defines `name` (a list's sets may differ).
  bool DefinedInEverySet(const std::string& name) const;
};

struct Dependency {
  std::string phase;
  int phase_index = -1;            // Into Sweep::phases.
  std::vector<std::string> match;  // Empty: the whole phase.
};

struct Phase {
  std::string name;
  std::string pointer;  // "/phases/1"; "" for a one-phase sweep.
  ParameterSpace parameters;
  // The names the templates below are bound to, in slot order: the
  // parameters (sorted), then kBuiltins.
  std::vector<std::string> vars;
  std::vector<Template> command;
  Template id;
  std::vector<Template> expected_outputs, preconditions;
  std::vector<std::pair<std::string, Template>> env;  // By name.
  std::string workdir;                                // Empty: the tool's.
  cluster::Resources resources;  // Zero and empty fields: the profile's.
  nlohmann::json resources_json = nlohmann::json::object();  // As given.
  std::vector<Dependency> depends_on;
  // JSON pointer of the declaration each field came from ("/phases/1/id",
  // or "/id" for a sweep-level default), for errors found later.
  std::vector<std::pair<std::string, std::string>> declared_at;
  // Where `field` was declared; `pointer` (the phase) when nowhere.
  std::string At(std::string_view field) const;
};

struct Aggregate {
  std::vector<Template> command;  // Bound to {"sweep"}.
  Template output;
};

struct Sweep {
  std::string name, description;
  std::vector<Phase> phases;  // As declared.
  // Phase indices in the order they can run: by depth in the depends_on
  // graph (a phase after everything it depends on), then as declared, so
  // that independent phases come first.
  std::vector<int> order;
  RetryPolicy retry;
  // How long a task waits for its preconditions before it fails as
  // precondition_missing (a shared filesystem may show a file late).
  int precondition_wait_seconds = 30;
  std::optional<Aggregate> aggregate;
  nlohmann::json document;  // Validated, defaults applied.

  // Where errors point: "<source>:<line>: <field>" for a YAML file,
  // "<source>: <field>" otherwise; the field is written
  // "phases[1].command[2]".
  std::string source;
  std::shared_ptr<const YAML::Node> yaml;  // Null unless from YAML.
  std::string Where(const std::string& pointer) const;

  int PhaseIndex(std::string_view name) const;  // -1 when none.
};

// An inline sweep (the tool's argument). `source` names it in errors.
Result<Sweep> LoadSweep(const nlohmann::json& document,
                        std::string_view source = "sweep");

// YAML text (JSON is YAML too); errors carry line numbers.
Result<Sweep> LoadSweepYaml(std::string_view text, std::string_view source);

// `path` (relative to `repo`, or absolute inside it; .yaml, .yml or .json)
// read from the repository on this machine. PermissionDenied (reason
// path_outside_repo) for a path that leaves the repository, symlinks
// followed; NotFound when it does not exist.
Result<Sweep> LoadSweepFile(const std::string& repo, const std::string& path);

// "phases[1].command[2]" for "/phases/1/command/2"; "(top level)" for "".
std::string FieldName(const std::string& pointer);

}  // namespace hpc::sweep
