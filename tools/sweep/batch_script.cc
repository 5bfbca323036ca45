#include "tools/sweep/batch_script.h"

#include "tools/remote/shell.h"
#include "tools/runs/render.h"

namespace hpc::sweep {
namespace {

using remote::ShellJoin;
using remote::ShellQuote;

// `name=(...)` with every element quoted; "name=()" when empty.
std::string ArrayAssign(const char* name, const std::vector<std::string>& values) {
  return std::string(name) + "=(" + ShellJoin(values) + ")";
}

}  // namespace

std::string RenderBatchScript(const BatchScript& b) {
  std::string s = "#!/bin/bash\n";
  s += "# hpc-mcp sweep " + b.sweep_id + ", batch " + b.batch_id + " (" + b.kind +
       (b.phase.empty() ? "" : ", phase " + b.phase) + "; generated; tag " + b.tag + ")\n";
  s += runs::ScriptPreamble(b.sweep_id, b.dirs, b.exit_dir);
  s += "hpc_pre=() hpc_out=() hpc_cmd=()\n";
  if (b.tasks.empty()) {
    s += ArrayAssign("hpc_cmd", b.command) + " " + ArrayAssign("hpc_out", b.outputs) + "\n";
    s += "hpc_name=aggregate\n";
  } else {
    s += "case \"$hpc_task\" in\n";
    for (size_t i = 0; i < b.tasks.size(); ++i) {
      const Task& t = *b.tasks[i];
      s += "  " + std::to_string(b.base + static_cast<int64_t>(i)) + ")\n   ";
      for (const auto& [k, v] : t.env) s += " export " + k + "=" + ShellQuote(v) + ";";
      s += "\n    hpc_name=" + ShellQuote(t.id) + " " + ArrayAssign("hpc_cmd", t.argv) + " " +
           ArrayAssign("hpc_pre", t.preconditions) + " " +
           ArrayAssign("hpc_out", t.expected_outputs) + ";;\n";
    }
    s += "  *) echo \"hpc-mcp: batch " + b.batch_id +
         " has no task $hpc_task\" >&2; hpc_finish 2;;\nesac\n";
  }
  s += "cd -- " + ShellQuote(b.workdir) + " || hpc_finish 1\n";
  s += "echo \"hpc-mcp: sweep " + b.sweep_id + " task $hpc_name (batch " + b.batch_id +
       ", job ${HPC_JOB_ID:-}) on $(hostname) at $(date -u +%FT%TZ)\" >&2\n";
  s += "for hpc_p in \"${hpc_pre[@]}\"; do\n"
       "  hpc_waited=0\n"
       "  while [ ! -e \"$hpc_p\" ]; do\n"
       "    if [ \"$hpc_waited\" -ge " + std::to_string(b.precondition_wait_seconds) + " ]; then\n"
       "      printf '%s%s\\n' " + ShellQuote(kPreconditionMissingLine) + " \"$hpc_p\" >&2\n"
       "      hpc_finish " + std::to_string(kPreconditionMissingExit) + "\n"
       "    fi\n"
       "    sleep 2; hpc_waited=$((hpc_waited + 2))\n"
       "  done\n"
       "done\n";
  // Not exec: the outputs are checked and the exit code recorded after.
  s += "\"${hpc_cmd[@]}\"\nhpc_rc=$?\n";
  s += "if [ \"$hpc_rc\" = 0 ]; then\n"
       "  for hpc_p in \"${hpc_out[@]}\"; do\n"
       "    if [ ! -e \"$hpc_p\" ]; then\n"
       "      printf '%s%s\\n' " + ShellQuote(kOutputMissingLine) + " \"$hpc_p\" >&2\n"
       "      hpc_rc=" + std::to_string(kOutputMissingExit) + "\n"
       "    fi\n"
       "  done\n"
       "fi\n"
       "hpc_finish \"$hpc_rc\"\n";
  return s;
}

}  // namespace hpc::sweep
