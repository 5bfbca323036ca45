// The batch script hpc-mcp writes for one job of a run. It uses absolute
// paths only, creates its log and exit directories before anything else
// (the seed's classic: a missing log directory kills a job in a second with
// no log), records the job's exit code to a file per task, and runs the
// agent's command as an argv quoted by remote::ShellQuote (the one quoting
// function): nothing the agent sent is ever interpreted by a shell.
//
// Thread-safety: pure functions.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace hpc::runs {

struct ScriptPlan {
  std::string run_id, role, tag;
  int attempt = 1;
  std::vector<std::string> command;  // argv; or
  std::string program_path;          // a program file to run (the agent's
                                     // `script`, written beside this one).
  std::string workdir;
  std::vector<std::string> dirs;     // Created first (log dirs, exit dir).
  std::string exit_dir;              // <task>.exit files go here.
  // Array tasks: task id -> environment exported for that task only.
  std::map<std::string, std::map<std::string, std::string>> task_env;
};

std::string RenderBatchScript(const ScriptPlan& plan);

// The first lines of every batch script hpc-mcp writes (runs and sweep
// batches): create `dirs`, define the task's exit record
// (<exit_dir>/<task>.exit, task "main" outside an array) and hpc_finish
// CODE, which writes it atomically and exits with CODE, and export
// HPC_RUN_ID. Not an EXIT trap: the Grid Engine backend's own EXIT trap
// (its afterok record) must survive.
std::string ScriptPreamble(const std::string& run_id, const std::vector<std::string>& dirs,
                           const std::string& exit_dir);

// The placeholder a backend substitutes with the array task id in log
// paths: "%a" (Slurm, local, host), "$TASK_ID" (Grid Engine).
std::string TaskPlaceholder(const std::string& scheduler);

}  // namespace hpc::runs
