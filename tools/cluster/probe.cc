#include "tools/cluster/probe.h"

#include <algorithm>
#include <sstream>

#include "tools/cluster/gpus.h"

namespace hpc::cluster {
namespace {

using remote::CommandResult;
using remote::RunOptions;

Result<CommandResult> Run(remote::Remote& r, const std::vector<std::string>& argv) {
  RunOptions o;
  o.timeout = std::chrono::seconds(30);
  o.max_output = 64 << 10;
  return r.Run(argv, o);
}

std::string FirstLine(const std::string& s) {
  std::string line = s.substr(0, s.find('\n'));
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

// The last non-empty line: where a traceback or an error message says what
// went wrong.
std::string LastLine(const std::string& s) {
  std::string t = s;
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
  return t.substr(t.find_last_of('\n') == std::string::npos ? 0 : t.find_last_of('\n') + 1);
}

std::string Trimmed(std::string s, size_t max = 400) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  if (s.size() > max) s = s.substr(0, max) + "…";
  return s;
}

// One command whose exit status decides ok/fail; the first line of its
// output is the evidence.
Check Command(const std::string& name, remote::Remote& r, const std::vector<std::string>& argv,
              const std::string& remediation, const std::string& failed_status = "fail") {
  auto res = Run(r, argv);
  std::string shown = argv[0] + (argv.size() > 1 ? " " + argv[1] : "");
  if (!res.ok()) return {name, failed_status, shown + ": " + res.status().message(), remediation};
  if (!res->ok())
    return {name, failed_status,
            shown + " exited " + std::to_string(res->exit_code) + ": " +
                Trimmed(LastLine(res->err.empty() ? res->out : res->err)),
            remediation};
  return {name, "ok", shown + ": " + FirstLine(res->out.empty() ? res->err : res->out), ""};
}

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) out.push_back(l);
  return out;
}

std::vector<Check> ProbeSlurm(const ClusterProfile& p, remote::Remote& r) {
  std::vector<Check> checks;
  Check version = Command("scheduler_commands", r, {"sbatch", "--version"},
                          "load the Slurm module in shell.setup, or check PATH on the login node");
  checks.push_back(version);
  if (version.status != "ok") return checks;
  checks.push_back(Command("controller", r, {"scontrol", "ping"},
                           "slurmctld does not answer: wait, or ask the cluster admins"));
  auto parts = Run(r, {"sinfo", "--noheader", "--format=%P|%a|%l|%D|%c|%m|%G"});
  if (parts.ok() && parts->ok()) {
    std::string evidence, names;
    bool found_default = p.defaults.partition.empty();
    for (const auto& line : Lines(parts->out)) {
      std::string name = line.substr(0, line.find('|'));
      bool is_default = !name.empty() && name.back() == '*';
      if (is_default) name.pop_back();
      if (name == p.defaults.partition) found_default = true;
      names += (names.empty() ? "" : ", ") + name + (is_default ? " (default)" : "");
      evidence += (evidence.empty() ? "" : "; ") + line;
    }
    checks.push_back({"partitions", found_default ? "ok" : "fail",
                      "partitions (name|avail|timelimit|nodes|cpus|mem|gres): " + Trimmed(evidence),
                      found_default ? ""
                                    : "defaults.partition \"" + p.defaults.partition +
                                          "\" does not exist; use one of: " + names});
  } else {
    checks.push_back({"partitions", "fail",
                      "sinfo failed: " + (parts.ok() ? Trimmed(parts->err) : parts.status().message()),
                      "check that sinfo works on the login node"});
  }
  auto acct = Run(r, {"sacct", "--noheader", "--parsable2", "--allocations", "--starttime=now-1hours",
                      "--format=JobID"});
  if (acct.ok() && acct->ok())
    checks.push_back({"accounting", "ok", "sacct answers (finished jobs can be diagnosed)", ""});
  else
    checks.push_back({"accounting", "warn",
                      "sacct: " + (acct.ok() ? Trimmed(acct->err) : acct.status().message()),
                      "without accounting, finished jobs are known only while scontrol still "
                      "lists them (MinJobAge); poll often enough"});
  return checks;
}

std::vector<Check> ProbeSge(const ClusterProfile& p, remote::Remote& r) {
  std::vector<Check> checks;
  auto help = Run(r, {"qstat", "-help"});
  if (!help.ok() || help->out.empty()) {
    checks.push_back({"scheduler_commands", "fail",
                      "qstat -help: " + (help.ok() ? Trimmed(help->err) : help.status().message()),
                      "source the Grid Engine settings (e.g. /etc/profile.d/sge.sh) in shell.setup"});
    return checks;
  }
  checks.push_back({"scheduler_commands", "ok", "qstat: " + FirstLine(help->out), ""});
  auto queues = Run(r, {"qconf", "-sql"});
  if (queues.ok() && queues->ok()) {
    auto names = Lines(queues->out);
    bool found = p.defaults.partition.empty();
    std::string list;
    for (const auto& q : names) {
      found = found || q == p.defaults.partition;
      list += (list.empty() ? "" : ", ") + q;
    }
    checks.push_back({"partitions", found ? "ok" : "fail", "queues: " + list,
                      found ? "" : "defaults.partition (the queue) \"" + p.defaults.partition +
                                       "\" does not exist; use one of: " + list});
    checks.push_back({"controller", "ok", "qmaster answers (qconf -sql)", ""});
  } else {
    checks.push_back({"controller", "fail",
                      "qconf -sql: " + (queues.ok() ? Trimmed(queues->err) : queues.status().message()),
                      "sge_qmaster does not answer: wait, or ask the cluster admins"});
  }
  checks.push_back(Command("accounting", r, {"sh", "-c", "command -v qacct"},
                           "without qacct, finished jobs are known only from our exit-code files",
                           "warn"));
  return checks;
}

std::vector<Check> ProbeWrapperHost(remote::Remote& r) {
  Check c = Command("scheduler_commands", r,
                    {"sh", "-c", "command -v setsid && command -v flock && command -v timeout"},
                    "install util-linux (setsid, flock) and coreutils (timeout): the job "
                    "wrapper needs them");
  if (c.status == "ok") c.evidence = "setsid, flock and timeout found (hpc-mcp's job wrapper runs the jobs)";
  return {c};
}

}  // namespace

std::vector<Check> ProbeScheduler(const ClusterProfile& profile, remote::Remote& remote) {
  if (profile.scheduler == "slurm") return ProbeSlurm(profile, remote);
  if (profile.scheduler == "sge") return ProbeSge(profile, remote);
  return ProbeWrapperHost(remote);
}

std::vector<Check> ProbeRoot(const std::string& label, const std::string& root,
                             remote::Remote& remote) {
  std::vector<Check> checks;
  // A fixed script: the path travels as $1, never inside the script text.
  auto r = Run(remote, {"sh", "-c",
                        "if [ ! -e \"$1\" ]; then echo missing; elif [ ! -d \"$1\" ]; then echo notdir;"
                        " elif [ ! -w \"$1\" ]; then echo readonly; else echo ok; df -Pk \"$1\" | tail -n 1; fi",
                        "sh", root});
  if (!r.ok()) return {{label, "fail", r.status().message(), ""}};
  auto lines = Lines(r->out);
  std::string state = lines.empty() ? "" : lines[0];
  if (state == "missing")
    return {{label, "warn", root + " does not exist yet",
             "it is created by the first submit; or create it now: mkdir -p " + root}};
  if (state == "notdir") return {{label, "fail", root + " exists but is not a directory", "point the profile at a directory"}};
  if (state == "readonly")
    return {{label, "fail", root + " is not writable by this account", "choose a writable directory in the profile"}};
  if (state != "ok") return {{label, "fail", "could not inspect " + root + ": " + Trimmed(r->err), ""}};
  checks.push_back({label, "ok", root + " exists and is writable", ""});
  if (lines.size() > 1) {
    std::stringstream df(lines[1]);
    std::string fs, blocks, used, avail;
    df >> fs >> blocks >> used >> avail;
    double gib = std::strtod(avail.c_str(), nullptr) / (1024.0 * 1024.0);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.1f GiB free on %s", gib, fs.c_str());
    std::string status = gib < 1 ? "fail" : gib < 10 ? "warn" : "ok";
    checks.push_back({label + "_disk", status, buf,
                      status == "ok" ? "" : "free space before training writes checkpoints there"});
  }
  return checks;
}

std::vector<Check> ProbeGpus(const ClusterProfile& p, remote::Remote& remote) {
  if (!p.gpus.nvidia_smi) return {};
  const std::string fix =
      "install the NVIDIA driver (it brings nvidia-smi) on " +
      remote.Describe() + ", or set gpus.placement: none in " + p.source;
  auto q = Run(remote, GpuQueryArgv());
  if (!q.ok())
    return {{"gpus", "fail", "nvidia-smi: " + q.status().message(), fix}};
  if (!q->ok())
    return {{"gpus", "fail",
             "nvidia-smi exited " + std::to_string(q->exit_code) + ": " +
                 Trimmed(LastLine(q->err.empty() ? q->out : q->err)),
             fix}};
  auto gpus = ParseGpuQuery(q->out);
  if (!gpus.ok())
    return {{"gpus", "fail",
             "cannot read nvidia-smi's answer: " + gpus.status().message(),
             "compare with `nvidia-smi " + GpuQueryArgv()[1] + " " +
                 GpuQueryArgv()[2] + "` run by hand; " + fix}};
  if (gpus->empty()) return {{"gpus", "fail", "nvidia-smi lists no GPU", fix}};
  const std::vector<int> free = FreeGpus(*gpus, p.gpus.free_below_mib);
  std::string evidence = std::to_string(gpus->size()) + " GPU(s), " +
                         std::to_string(free.size()) +
                         " free (memory in use below " +
                         std::to_string(p.gpus.free_below_mib) + " MiB):";
  for (const Gpu& g : *gpus) {
    auto mib = [](const std::optional<int64_t>& v) {
      return v ? std::to_string(*v) : std::string("?");
    };
    const bool is_free =
        std::find(free.begin(), free.end(), g.index) != free.end();
    evidence += " " + std::to_string(g.index) + ": " + mib(g.used_mib) + "/" +
                mib(g.total_mib) + " MiB" + (is_free ? "" : " (busy)") + ";";
  }
  evidence.pop_back();
  if (free.empty())
    return {{"gpus", "warn", Trimmed(evidence),
             "every GPU holds memory (another user's process, or one a job "
             "left behind): "
             "tasks asking for GPUs wait until one is free; see nvidia-smi on "
             "the host"}};
  return {{"gpus", "ok", Trimmed(evidence), ""}};
}

std::vector<Check> ProbeTools(remote::Remote& remote) {
  std::vector<Check> checks;
  Check py = Command("python", remote, {"python3", "--version"},
                     "activate your environment in shell.setup (venv, conda or module)", "warn");
  checks.push_back(py);
  if (py.status == "ok")
    checks.push_back(Command("wandb", remote,
                             {"python3", "-c", "import wandb; print('wandb', wandb.__version__)"},
                             "pip install wandb in the training environment to sync runs", "warn"));
  return checks;
}

}  // namespace hpc::cluster
