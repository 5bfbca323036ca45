#include "tools/remote/command_line.h"

#include <csignal>
#include <utility>

#include "tools/remote/shell.h"

namespace hpc::remote {
namespace {

bool IsShellName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool HasNul(std::string_view s) {
  return s.find('\0') != std::string_view::npos;
}

// `cd` needs a shell; the directory arrives as $1, so it is never parsed.
constexpr char kCdScript[] = "cd -- \"$1\" || exit; shift; exec \"$@\"";

}  // namespace

Status ValidateRun(const std::vector<std::string>& argv,
                   const RunOptions& options) {
  if (argv.empty() || argv[0].empty()) {
    return InvalidArgument("empty command: argv[0] must name a program");
  }
  if (argv[0].find('=') != std::string::npos) {
    return InvalidArgument("program name '" + Abbreviate(argv[0], 60) +
                           "' contains '='");
  }
  for (size_t i = 0; i < argv.size(); ++i) {
    if (HasNul(argv[i])) {
      return InvalidArgument("argument " + std::to_string(i) +
                             " contains a NUL byte");
    }
  }
  if (HasNul(options.cwd)) return InvalidArgument("cwd contains a NUL byte");
  for (const auto& [name, value] : options.env) {
    if (!IsShellName(name)) {
      return InvalidArgument(
          "environment name '" + Abbreviate(name, 60) +
          "' is not a shell identifier ([A-Za-z_][A-Za-z0-9_]*)");
    }
    if (HasNul(value)) {
      return InvalidArgument("environment value of " + name +
                             " contains a NUL byte");
    }
  }
  return Status::Ok();
}

std::vector<std::string> WithCwdAndEnv(const std::vector<std::string>& argv,
                                       const RunOptions& options) {
  std::vector<std::string> out;
  if (!options.cwd.empty()) {
    out = {"sh", "-c", kCdScript, "sh", options.cwd};
  }
  if (!options.env.empty()) {
    out.push_back("env");
    for (const auto& [name, value] : options.env) {
      out.push_back(name + "=" + value);
    }
  }
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

std::string RemoteCommandLine(const std::vector<std::string>& argv,
                              const RunOptions& options,
                              const std::vector<std::string>& login_shell,
                              const std::vector<std::string>& setup) {
  std::vector<std::string> full = WithCwdAndEnv(argv, options);
  if (options.login_shell && !login_shell.empty()) {
    return WrapInLoginShell(login_shell, setup, full);
  }
  return ShellJoin(full);
}

int SignalNumber(std::string_view name) {
  static const std::pair<const char*, int> kSignals[] = {
      {"HUP", SIGHUP},       {"INT", SIGINT},   {"QUIT", SIGQUIT},
      {"ILL", SIGILL},       {"TRAP", SIGTRAP}, {"ABRT", SIGABRT},
      {"BUS", SIGBUS},       {"FPE", SIGFPE},   {"KILL", SIGKILL},
      {"USR1", SIGUSR1},     {"SEGV", SIGSEGV}, {"USR2", SIGUSR2},
      {"PIPE", SIGPIPE},     {"ALRM", SIGALRM}, {"TERM", SIGTERM},
      {"CHLD", SIGCHLD},     {"CONT", SIGCONT}, {"STOP", SIGSTOP},
      {"TSTP", SIGTSTP},     {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},
      {"URG", SIGURG},       {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ},
      {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"SYS", SIGSYS},
  };
  if (name.substr(0, 3) == "SIG") name.remove_prefix(3);
  for (const auto& [n, number] : kSignals) {
    if (name == n) return number;
  }
  return 0;
}

std::string Abbreviate(std::string_view text, size_t max) {
  if (text.size() <= max) return std::string(text);
  return std::string(text.substr(0, max)) + "...";
}

}  // namespace hpc::remote
