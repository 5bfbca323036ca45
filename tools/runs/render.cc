#include "tools/runs/render.h"

#include "tools/remote/shell.h"

namespace hpc::runs {

using remote::ShellJoin;
using remote::ShellQuote;

std::string RenderBatchScript(const ScriptPlan& p) {
  std::string s = "#!/bin/bash\n";
  s += "# hpc-mcp run " + p.run_id + ", " + p.role + " job, attempt " + std::to_string(p.attempt) +
       " (generated; tag " + p.tag + ")\n";
  s += ScriptPreamble(p.run_id, p.dirs, p.exit_dir);
  if (!p.task_env.empty()) {
    s += "case \"$hpc_task\" in\n";
    for (const auto& [task, env] : p.task_env) {
      s += "  " + ShellQuote(task) + ")";
      for (const auto& [k, v] : env) s += " export " + k + "=" + ShellQuote(v) + ";";
      s += ";\n";
    }
    s += "esac\n";
  }
  s += "cd -- " + ShellQuote(p.workdir) + " || hpc_finish 1\n";
  s += "echo \"hpc-mcp: run " + p.run_id + " " + p.role +
       " job $HPC_JOB_ID task $hpc_task on $(hostname) at $(date -u +%FT%TZ)\" >&2\n";
  // Not exec: the exit code is recorded after the command.
  if (!p.program_path.empty())
    s += ShellQuote(p.program_path) + "\n";
  else
    s += ShellJoin(p.command) + "\n";
  s += "hpc_finish $?\n";
  return s;
}

std::string ScriptPreamble(const std::string& run_id, const std::vector<std::string>& dirs,
                           const std::string& exit_dir) {
  // First of all: the directories the job writes to.
  std::string s = "mkdir -p -- " + ShellJoin(dirs) + " || exit 1\n";
  s += "hpc_task=${HPC_ARRAY_TASK_ID:-main}\n";
  s += "hpc_exit=" + ShellQuote(exit_dir) + "/\"$hpc_task\".exit\n";
  s += "hpc_finish() { printf '%s\\n' \"$1\" >\"$hpc_exit.tmp\" && "
       "mv -f -- \"$hpc_exit.tmp\" \"$hpc_exit\"; exit \"$1\"; }\n";
  s += "export HPC_RUN_ID=" + ShellQuote(run_id) + "\n";
  return s;
}

std::string TaskPlaceholder(const std::string& scheduler) {
  return scheduler == "sge" ? "$TASK_ID" : "%a";
}

}  // namespace hpc::runs
