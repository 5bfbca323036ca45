// `wandb sync` with guard rails: the command, the API key's way to it, the
// answer, and pruning transient staging data.
//
// The destination is always explicit. `--entity` and `--project` are passed
// on every sync, and the environment the command runs in is cleaned of the
// W&B variables that could otherwise choose for us: a cluster login shell
// often exports WANDB_ENTITY/WANDB_PROJECT from an old project, a training
// job's wandb/settings names whatever the script defaulted to, and
// WANDB_BASE_URL decides which server receives the key. So the command
// unsets those variables (after the profile's setup lines, which may set
// them) and sets WANDB_BASE_URL to the profile's server (default
// https://api.wandb.ai); environment beats settings files in wandb's order.
//
// The API key comes from a token file on the machine where the sync runs
// and travels on the command's stdin: a constant script reads the first
// line into WANDB_API_KEY, exports it and execs the sync. It never goes on
// a command line, because RunOptions::env does (remote/command_line.h turns
// it into `env NAME=VALUE` words): visible in the SSH exec request, in the
// shell's `-c` string and in /proc/<pid>/cmdline of env(1) to every user of
// a login node. Output is redacted before anyone sees it.
//
// Thread-safety: functions over values and a thread-safe Remote.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "mcp_server/status.h"
#include "tools/remote/remote.h"

namespace hpc::wandb {

// How a profile runs wandb (its optional `wandb:` object).
struct Target {
  std::string via = "direct";  // direct | srun | container
  std::vector<std::string> command = {"wandb"};
  std::vector<std::string> srun_args;       // via srun.
  std::vector<std::string> container_exec;  // via container (or srun).
  std::string base_url = "https://api.wandb.ai";
  std::string token_file;  // Default token file; "" none.
};
// `wandb` is the profile's raw `wandb` value (null when absent).
Target TargetFromProfile(const nlohmann::json& wandb);

struct SyncRequest {
  std::string run_dir;  // Absolute.
  std::string entity, project;
  std::string wandb_id;  // Upload to this run id (--id); "" keeps the run's.
  bool mark_synced = true;
  int timeout_s = 600;
};

// The variables the sync command unsets (documented in the schema).
const std::vector<std::string>& ClearedVariables();

// The wandb words: [srun ARGS] [CONTAINER...] COMMAND sync --entity E
// --project P [--id X] [--no-mark-synced] -- DIR.
std::vector<std::string> WandbArgv(const Target& t, const SyncRequest& r);

// The exit status of the sync command when no key line arrived on stdin (a
// setup line or login script read it).
inline constexpr int kNoKeyExitCode = 122;

// What Remote::Run executes: sh -c <constant script> hpc-mcp-wandb-sync
// BASE_URL TIMEOUT_S WANDB_ARGV... The script reads the key from stdin,
// cleans the environment and runs the wandb words under timeout(1), so the
// sync ends on the machine too when it runs too long (exit 124).
std::vector<std::string> SyncArgv(const Target& t, const SyncRequest& r);

// The command as a person would type it, the key shown as where it comes
// from: WANDB_API_KEY="$(cat <token file>)" WANDB_BASE_URL=... wandb sync ...
std::string DisplayCommand(const Target& t, const SyncRequest& r,
                           const std::string& token_file);

struct Token {
  std::string path;  // Absolute, on the machine where the sync runs.
  std::string key;   // Never shown, logged or journaled.
  bool group_or_world_readable = false;
};

// The key from `explicit_path` ("" for none: then the profile's
// token_file, then ~/.wandb_token, then ~/.wandb_key), `~` meaning `home`.
// NotFound (reason wandb_token_missing) naming the paths tried; InvalidArgument
// when the file does not hold one key line (its content is never quoted).
// A key found is registered with mcp::RegisterSecret (mcp_server/redact.h).
Result<Token> FindToken(remote::Remote& remote, const std::string& home,
                        const std::string& explicit_path, const Target& t);

// Whether `key` looks like one API key: one line of 20 to 512 visible
// ASCII characters.
bool ValidKey(const std::string& key);

// `text` with every occurrence of `secret` replaced by "[redacted]".
std::string Redact(std::string text, const std::string& secret);

struct SyncOutcome {
  std::string url;    // https://<app>/<entity>/<project>/runs/<id>; "" none.
  bool done = false;  // "... done." followed it.
  std::string url_entity, url_project, url_run_id;
  std::vector<std::string> skipped;  // "Skipping directory: X" paths.
  std::vector<std::string> errors;   // "wandb: ERROR ..." / "Error: ..." lines.
};

// Reads what `wandb sync` printed (stdout and stderr).
SyncOutcome ParseSyncOutput(const std::string& out, const std::string& err);

// The real path of directory `dir` on the machine (symlinks resolved).
Result<std::string> RealPath(remote::Remote& remote, const std::string& dir);

// Removes everything inside staging directory `dir`, whose real path must
// be `expected_real` (so that no symlink on the way leads elsewhere); the
// directory itself stays. Symlinks inside are removed, never followed.
Status PruneStaging(remote::Remote& remote, const std::string& dir,
                    const std::string& expected_real);

}  // namespace hpc::wandb
