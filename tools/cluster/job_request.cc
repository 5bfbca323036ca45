#include "tools/cluster/job_request.h"

#include <algorithm>

#include "tools/cluster/text.h"
#include "tools/remote/shell.h"
#include "tools/remote/temp_name.h"

namespace hpc::cluster {
namespace {

using text::ParseInt;
using text::Split;
using text::Trim;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlnum(char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool HasControl(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return true;
  return false;
}

Status CheckPath(std::string_view field, std::string_view path) {
  if (path.empty() || path[0] != '/')
    return InvalidArgument(std::string(field) + " must be an absolute path, got \"" +
                           std::string(path) + "\"");
  if (HasControl(path))
    return InvalidArgument(std::string(field) +
                           " must not contain control characters (newline, "
                           "tab): schedulers print paths on one line");
  return Status::Ok();
}

// Free text that lands in a scheduler option value: one line, and not
// something an option parser could take for another option.
Status CheckValue(std::string_view field, std::string_view v) {
  if (HasControl(v))
    return InvalidArgument(std::string(field) +
                           " must not contain control characters");
  if (!v.empty() && v[0] == '-')
    return InvalidArgument(std::string(field) + " must not start with '-', got \"" +
                           std::string(v) + "\"");
  return Status::Ok();
}

bool IsIdentifier(std::string_view k) {
  if (k.empty() || IsDigit(k[0])) return false;
  for (char c : k)
    if (!IsAlnum(c) && c != '_') return false;
  return true;
}

}  // namespace

Result<int64_t> ParseWalltime(std::string_view text_in) {
  std::string_view t = Trim(text_in);
  auto bad = [&] {
    return InvalidArgument("walltime \"" + std::string(text_in) +
                           "\" is not HH:MM:SS or D-HH:MM:SS");
  };
  int64_t days = 0;
  if (size_t dash = t.find('-'); dash != std::string_view::npos) {
    auto d = ParseInt(t.substr(0, dash));
    if (!d || *d < 0) return bad();
    days = *d;
    t = t.substr(dash + 1);
  }
  auto parts = Split(t, ':');
  if (parts.size() != 3) return bad();
  int64_t v[3];
  for (int i = 0; i < 3; ++i) {
    auto p = ParseInt(parts[i]);
    if (!p || *p < 0 || parts[i].empty()) return bad();
    v[i] = *p;
  }
  if (v[1] > 59 || v[2] > 59 || (days > 0 && v[0] > 23)) return bad();
  int64_t total = days * 86400 + v[0] * 3600 + v[1] * 60 + v[2];
  if (total <= 0)
    return InvalidArgument("walltime \"" + std::string(text_in) +
                           "\" must be longer than zero");
  return total;
}

std::string FormatHms(int64_t s) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld",
                static_cast<long long>(s / 3600),
                static_cast<long long>(s / 60 % 60),
                static_cast<long long>(s % 60));
  return buf;
}

Result<int64_t> ParseMemoryMiB(std::string_view text_in) {
  std::string_view t = Trim(text_in);
  auto bad = [&] {
    return InvalidArgument("memory \"" + std::string(text_in) +
                           "\" is not a number with an optional unit K, M, G "
                           "or T (\"500M\", \"4G\")");
  };
  if (t.empty()) return bad();
  int64_t mult_kib = 1024;  // Default unit: megabytes, as Slurm.
  char u = t.back();
  if (!IsDigit(u)) {
    switch (u) {
      case 'K': case 'k': mult_kib = 1; break;
      case 'M': case 'm': mult_kib = 1024; break;
      case 'G': case 'g': mult_kib = 1024 * 1024; break;
      case 'T': case 't': mult_kib = 1024LL * 1024 * 1024; break;
      default: return bad();
    }
    t.remove_suffix(1);
  }
  auto n = ParseInt(t);
  if (!n || *n <= 0 || *n > (int64_t{1} << 40) / mult_kib) return bad();
  return (*n * mult_kib + 1023) / 1024;
}

Result<ArraySpec> ParseArraySpec(std::string_view spec, size_t max_tasks) {
  if (max_tasks == 0) max_tasks = 1000000;
  auto bad = [&](std::string why) {
    return InvalidArgument("array \"" + std::string(spec) + "\": " + why +
                           " (expected e.g. \"0-9\", \"1-10:2\", \"1,3,5\", "
                           "\"0-99%4\")");
  };
  ArraySpec out;
  std::string_view s = Trim(spec);
  if (size_t pct = s.find('%'); pct != std::string_view::npos) {
    auto n = ParseInt(s.substr(pct + 1));
    if (!n || *n <= 0 || *n > 1000000) return bad("bad limit after '%'");
    out.max_parallel = static_cast<int>(*n);
    s = s.substr(0, pct);
  }
  if (s.empty()) return bad("no task ids");
  auto items = Split(s, ',');
  for (std::string_view item : items) {
    int64_t step = 1;
    if (size_t colon = item.find(':'); colon != std::string_view::npos) {
      auto st = ParseInt(item.substr(colon + 1));
      if (!st || *st <= 0) return bad("bad step");
      step = *st;
      item = item.substr(0, colon);
    }
    int64_t first, last;
    if (size_t dash = item.find('-'); dash != std::string_view::npos) {
      auto a = ParseInt(item.substr(0, dash)), b = ParseInt(item.substr(dash + 1));
      if (!a || !b || item.substr(0, dash).empty()) return bad("bad range");
      first = *a;
      last = *b;
    } else {
      auto a = ParseInt(item);
      if (!a) return bad("bad task id \"" + std::string(item) + "\"");
      first = last = *a;
    }
    if (first < 0 || last < first) return bad("bad range");
    if (static_cast<uint64_t>((last - first) / step) + out.tasks.size() >=
        max_tasks)
      return bad("more than " + std::to_string(max_tasks) + " tasks");
    for (int64_t t = first; t <= last; t += step) out.tasks.push_back(t);
    if (items.size() == 1) {
      out.single_range = true;
      out.first = first;
      out.last = last;
      out.step = step;
    }
  }
  return out;
}

Result<JobRequest> PrepareRequest(const ClusterProfile& profile,
                                  JobRequest r) {
  const ResourceDefaults& d = profile.defaults;
  Resources& res = r.resources;
  if (res.partition.empty()) res.partition = d.partition;
  if (res.account.empty()) res.account = d.account;
  if (res.qos.empty()) res.qos = d.qos;
  if (res.time.empty()) res.time = d.time;
  if (res.mem.empty()) res.mem = d.mem;
  if (res.constraint.empty()) res.constraint = d.constraint;
  if (res.cpus == 0) res.cpus = d.cpus;
  if (res.gpus == 0) res.gpus = d.gpus;

  if (r.name.empty() || r.name.size() > 128 || r.name[0] == '-' ||
      !std::all_of(r.name.begin(), r.name.end(), [](char c) {
        return IsAlnum(c) || c == '-' || c == '_' || c == '.';
      }))
    return InvalidArgument("job name \"" + r.name +
                           "\" must be 1-128 letters, digits, '-', '_' or "
                           "'.', not starting with '-'");
  if (r.script.rfind("#!", 0) != 0)
    return InvalidArgument(
        "script must start with an interpreter line such as #!/bin/bash");
  if (r.script.find('\0') != std::string::npos)
    return InvalidArgument("script must not contain NUL bytes");
  HPC_RETURN_IF_ERROR(CheckPath("script_path", r.script_path));
  HPC_RETURN_IF_ERROR(CheckPath("workdir", r.workdir));
  HPC_RETURN_IF_ERROR(CheckPath("stdout_path", r.stdout_path));
  HPC_RETURN_IF_ERROR(CheckPath("stderr_path", r.stderr_path));
  for (const auto& [k, v] : r.env) {
    if (!IsIdentifier(k))
      return InvalidArgument("environment variable name \"" + k +
                             "\" must be letters, digits and '_', not "
                             "starting with a digit");
    if (v.find('\0') != std::string::npos)
      return InvalidArgument("environment variable " + k +
                             " must not contain NUL bytes");
  }
  HPC_RETURN_IF_ERROR(CheckValue("partition", res.partition));
  HPC_RETURN_IF_ERROR(CheckValue("account", res.account));
  HPC_RETURN_IF_ERROR(CheckValue("qos", res.qos));
  HPC_RETURN_IF_ERROR(CheckValue("constraint", res.constraint));
  HPC_RETURN_IF_ERROR(CheckValue("comment", r.comment));
  if (res.cpus < 0 || res.gpus < 0 || res.nodes < 0)
    return InvalidArgument("cpus, gpus and nodes must not be negative");
  if (!res.mem.empty()) {
    auto m = ParseMemoryMiB(res.mem);
    if (!m.ok()) return m.status();
  }
  if (!res.time.empty()) {
    auto t = ParseWalltime(res.time);
    if (!t.ok()) return t.status();
  }
  if (!r.array.empty()) {
    auto a = ParseArraySpec(r.array);
    if (!a.ok()) return a.status();
  }
  for (const auto* ids : {&r.after_ok, &r.after_any, &r.after_corr}) {
    for (const auto& id : *ids) {
      if (id.empty() || id[0] == '-' ||
          !std::all_of(id.begin(), id.end(), [](char c) {
            return IsAlnum(c) || c == '_' || c == '.' || c == '-';
          }))
        return InvalidArgument("dependency job id \"" + id +
                               "\" is not a job id");
    }
  }
  if (!r.after_corr.empty()) {
    if (r.array.empty())
      return InvalidArgument(
          "after_corr needs an array job: element i waits for element i of "
          "each array it names; set array to the same task ids as theirs, or "
          "use after_ok to wait for whole jobs");
    // Every backend writes a task as "<job>_<task>" or "<job>.<task>"; the
    // element-wise dependency is on the whole array.
    for (const auto& id : r.after_corr)
      if (id.find_first_of("_.") != std::string::npos)
        return InvalidArgument("after_corr \"" + id +
                               "\" names one array task; name the array job "
                               "itself (element i waits for its element i)");
  }
  return r;
}

namespace {

// The first line's interpreter and its first argument.
std::pair<std::string_view, std::string_view> Shebang(std::string_view script) {
  if (script.rfind("#!", 0) != 0) return {};
  std::string_view line = script.substr(2, script.find('\n') - 2);
  line = Trim(line);
  size_t sp = line.find_first_of(" \t");
  std::string_view interp = line.substr(0, sp);
  std::string_view arg =
      sp == std::string_view::npos ? std::string_view() : Trim(line.substr(sp));
  return {interp, arg.substr(0, arg.find_first_of(" \t"))};
}

std::string_view Basename(std::string_view p) {
  size_t slash = p.rfind('/');
  return slash == std::string_view::npos ? p : p.substr(slash + 1);
}

bool IsShellName(std::string_view name) {
  static constexpr std::string_view kShells[] = {"sh",  "bash", "dash", "ksh",
                                                 "zsh", "mksh", "ash"};
  return std::find(std::begin(kShells), std::end(kShells), name) !=
         std::end(kShells);
}

}  // namespace

bool IsShellScript(std::string_view script) {
  auto [interp, arg] = Shebang(script);
  if (Basename(interp) == "env") return IsShellName(Basename(arg));
  return IsShellName(Basename(interp));
}

std::string ShebangPath(std::string_view script) {
  auto [interp, arg] = Shebang(script);
  if (interp.empty() || Basename(interp) == "env") return "";
  return std::string(interp);
}

std::string InsertAfterHeader(std::string_view script, std::string_view block) {
  size_t pos = 0;
  while (pos < script.size()) {
    size_t eol = script.find('\n', pos);
    std::string_view line =
        Trim(script.substr(pos, eol == std::string_view::npos ? script.npos
                                                               : eol - pos));
    if (!line.empty() && line[0] != '#') break;
    if (eol == std::string_view::npos) {
      pos = script.size();
      break;
    }
    pos = eol + 1;
  }
  std::string out(script.substr(0, pos));
  if (!out.empty() && out.back() != '\n') out += '\n';
  out += block;
  out += script.substr(pos);
  return out;
}

std::string ExportLines(const std::map<std::string, std::string>& env) {
  std::string out;
  for (const auto& [k, v] : env)
    out += "export " + k + "=" + remote::ShellQuote(v) + "\n";
  return out;
}

std::string Dirname(std::string_view path) {
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

Status CheckDirHasNoPlaceholder(std::string_view field, std::string_view path,
                                char marker) {
  std::string dir = Dirname(path);
  if (dir.find(marker) != std::string::npos)
    return InvalidArgument(
        std::string(field) + " \"" + std::string(path) +
        "\": placeholders ('" + std::string(1, marker) +
        "') may appear in the file name only; the directory is created "
        "before the job starts, so its name must be known then");
  return Status::Ok();
}

Status MakeDirs(remote::Remote& remote, std::vector<std::string> dirs) {
  std::sort(dirs.begin(), dirs.end());
  dirs.erase(std::unique(dirs.begin(), dirs.end()), dirs.end());
  std::vector<std::string> argv = {"mkdir", "-p", "--"};
  argv.insert(argv.end(), dirs.begin(), dirs.end());
  remote::RunOptions opts;
  opts.login_shell = false;
  opts.timeout = std::chrono::seconds(30);
  auto r = remote.Run(argv, opts);
  if (!r.ok()) return r.status();
  if (!r->ok())
    return PermissionDenied("cannot create the job's directories on " +
                            remote.Describe() + ": " + CommandMessage(*r))
        .WithReason("permission_denied", false,
                    "choose stdout/stderr/workdir paths under a directory "
                    "you can write");
  return Status::Ok();
}

Result<remote::CommandResult> RunSchedulerCommand(
    remote::Remote& remote, const std::vector<std::string>& argv,
    const remote::RunOptions& options, std::string_view what) {
  auto r = remote.Run(argv, options);
  if (!r.ok()) return r.status();
  if (r->exit_code == 127)
    return FailedPrecondition(argv[0] + " was not found on " +
                              remote.Describe() + ": is this a " +
                              std::string(what) + " login node?")
        .WithReason("scheduler_missing", false,
                    "check the profile's scheduler and its setup lines "
                    "(e.g. `module load slurm`)");
  return r;
}

std::string CommandMessage(const remote::CommandResult& r, size_t max_lines) {
  const std::string& src = Trim(r.err).empty() ? r.out : r.err;
  std::string msg;
  size_t n = 0;
  for (std::string_view line : text::Lines(src)) {
    line = Trim(line);
    if (line.empty()) continue;
    if (n++ == max_lines) break;
    if (!msg.empty()) msg += "; ";
    msg += line;
  }
  if (msg.empty())
    msg = "exit status " + std::to_string(r.exit_code) + ", no output";
  return msg;
}

namespace {

// Shell, as sh -c scripts whose data come as arguments ($1 the lock, $2 the
// token): nothing the agent sent is ever part of the script. The claim is
// replaced by rename, so it is never seen half-written.
constexpr char kWriteClaim[] =
    "printf '%s\\n' \"$2\" > \"$1.claim.tmp\" && "
    "mv -f \"$1.claim.tmp\" \"$1.claim\"";
constexpr int kSuperseded = 75;
constexpr char kSupersededMark[] = "hpc-mcp: submit superseded";

// Under the lock: claims it if nobody has (exit 74 if that fails), refuses
// when another token holds it, else runs the command.
std::string SubmitUnderClaimScript() {
  return std::string("[ -e \"$1.claim\" ] || { ") + kWriteClaim +
         " || { echo \"hpc-mcp: cannot write the submit claim $1.claim\" >&2;"
         " exit 74; }; }; IFS= read -r held < \"$1.claim\";"
         " if [ \"$held\" != \"$2\" ]; then echo \"" +
         kSupersededMark + ": a newer dispatch claimed $1\" >&2; exit " +
         std::to_string(kSuperseded) + "; fi; shift 2; exec \"$@\"";
}

}  // namespace

std::vector<std::string> UnderSubmitLock(const JobRequest& r,
                                         std::vector<std::string> argv) {
  if (r.submit_lock.empty()) return argv;
  std::vector<std::string> locked = {"flock", "-w", "600", r.submit_lock};
  if (!r.submit_token.empty())
    locked.insert(locked.end(), {"sh", "-c", SubmitUnderClaimScript(),
                                 "hpc-submit", r.submit_lock, r.submit_token});
  locked.insert(locked.end(), argv.begin(), argv.end());
  return locked;
}

std::vector<std::string> ClaimSubmitLockArgv(const JobRequest& r) {
  return {"flock", "-w",        "600",       r.submit_lock, "sh",
          "-c",    kWriteClaim, "hpc-claim", r.submit_lock, r.submit_token};
}

std::string NewSubmitToken() { return remote::RandomSuffix(); }

Status CheckSubmitClaim(const remote::CommandResult& r,
                        const std::string& where) {
  if (r.exit_code != kSuperseded || !text::Contains(r.err, kSupersededMark))
    return Status::Ok();
  return Status(StatusCode::kUnavailable,
                "this submit did not run on " + where +
                    ": a newer dispatch of the same job claimed its lock, "
                    "and that one submits it")
      .WithReason("submit_superseded", true,
                  "call submit again with the same arguments: it adopts the "
                  "job the newer dispatch created");
}

Resources ResourcesFromJson(const nlohmann::json& r) {
  Resources out;
  if (!r.is_object()) return out;
  out.time = r.value("time", "");
  out.mem = r.value("mem", "");
  out.partition = r.value("partition", "");
  out.account = r.value("account", "");
  out.qos = r.value("qos", "");
  out.constraint = r.value("constraint", "");
  out.cpus = r.value("cpus", 0);
  out.gpus = r.value("gpus", 0);
  out.nodes = r.value("nodes", 0);
  return out;
}

}  // namespace hpc::cluster
