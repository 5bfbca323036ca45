// Cluster profiles: where and how jobs run.
//
// A profile is a YAML file (cluster_profiles/*.yaml, validated by
// schemas/cluster_profile.json) naming the scheduler, how to reach the
// machine, the login shell and setup lines, the roots hpc-mcp may touch,
// resource defaults and limits. Profiles are found, first match wins, in
// the repository's .hpc-mcp/profiles/, the user's config dir
// ($XDG_CONFIG_HOME/hpc-mcp/profiles, else ~/.config/hpc-mcp/profiles), and
// the shipped cluster_profiles/ embedded in the binary; `local` is the
// embedded default.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "mcp_server/status.h"

namespace hpc::cluster {

struct Access {
  std::string kind = "local";  // local | ssh | openssh
  // ssh (libssh2):
  std::string host;
  int port = 22;
  std::string user;
  std::string identity_file;  // Empty: ssh-agent.
  std::string known_hosts;    // Empty: ~/.ssh/known_hosts.
  // openssh: an alias of the user's ~/.ssh/config (ProxyJump etc. apply).
  std::string alias;
  std::string ssh_config;  // -F file; empty: the user's default.
  std::vector<std::string> ssh_options;  // Extra -o options.
  int keepalive_seconds = 30;
  int connect_timeout_seconds = 10;
};

struct ResourceDefaults {
  std::string partition, account, qos, time, mem, constraint;
  int cpus = 0, gpus = 0;  // 0: not set.
};

// What a submission may ask for; enforced in one place, runs::CheckLimits
// (tools/runs/limits.h), before anything reaches the scheduler. Unset
// (empty, nullopt): no limit.
struct Limits {
  std::string max_walltime;  // "1-00:00:00", per job.
  int max_array_size = 0;    // Array tasks per submission; 0: none.
  // Job-wrapper slots (local and host schedulers): a throttle, not a
  // refusal. 0: none.
  int max_concurrent_jobs = 0;
  int min_query_interval_seconds = 10;
  std::vector<std::string> allowed_partitions, allowed_accounts, allowed_qos;
  std::optional<int> max_gpus;            // Per job: GPUs per node x nodes.
  std::optional<int> max_nodes;           // Per job.
  std::optional<int> max_jobs_in_flight;  // Scheduler jobs, tasks counted.
  std::optional<double> max_gpu_hours_in_flight, max_gpu_hours_per_day;
  std::optional<double> confirm_above_gpu_hours;
};

// How the host and local backends place tasks on GPUs (gpus.h).
struct GpuPlacement {
  bool nvidia_smi = false;    // placement: nvidia-smi; else none.
  int free_below_mib = 500;   // A GPU using less memory is free.
};

struct ClusterProfile {
  std::string name;
  std::string source;  // File it was loaded from
                       // ("embedded:cluster_profiles/local.yaml").
  std::string description;
  // No tool that may change something acts through this profile; enforced
  // in one place, runs::CheckMayChange (tools/runs/cluster_context.h).
  bool read_only = false;
  // What cancel may stop through this profile: "runs" (the runs of the
  // repository's journal, and nothing else) or "own_jobs" (also the login
  // user's other jobs, by job id). Another user's job never; see
  // tools/cancel.cc.
  std::string cancel_scope = "runs";
  std::string scheduler = "local";  // local | slurm | sge | host
  Access access;
  std::vector<std::string> login_shell = {"bash", "-l"};
  std::vector<std::string> setup;  // Lines run before each command.
  std::string work_root, log_root;
  std::vector<std::string> allowed_roots;  // Besides work_root and log_root.
  ResourceDefaults defaults;
  Limits limits;
  GpuPlacement gpus;
  nlohmann::json raw;  // The validated document.
};

// Parses and validates one profile document. Errors name `source`, the line
// and the field ("site.yaml:12: access.port: expected integer").
Result<ClusterProfile> ParseProfile(std::string_view yaml_text,
                                    std::string_view source);

// Finds profile `name` in the search path (see above). `repo` may be empty.
Result<ClusterProfile> LoadProfile(const std::string& name,
                                   const std::string& repo);

// Every profile visible from `repo`, first match per name; bad files are
// reported in `errors` rather than hiding the good ones.
std::vector<ClusterProfile> ListProfiles(const std::string& repo,
                                         std::vector<Status>* errors);

}  // namespace hpc::cluster
