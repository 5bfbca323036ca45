#include "tools/remote/shell.h"

namespace hpc::remote {

std::string ShellQuote(std::string_view arg) {
  bool plain = !arg.empty();
  for (char c : arg) {
    bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' ||
                c == '/' || c == ',' || c == ':' || c == '+' ||
                c == '@' || c == '%';
    if (!safe) {
      plain = false;
      break;
    }
  }
  if (plain) return std::string(arg);
  std::string q = "'";
  for (char c : arg) {
    if (c == '\'')
      q += "'\\''";
    else
      q += c;
  }
  q += "'";
  return q;
}

std::string ShellJoin(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) {
    if (!s.empty()) s += ' ';
    s += ShellQuote(a);
  }
  return s;
}

std::string WrapInLoginShell(const std::vector<std::string>& login_shell,
                             const std::vector<std::string>& setup,
                             const std::vector<std::string>& argv) {
  std::string script;
  for (size_t i = 0; i < setup.size(); ++i) {
    // A failed setup line stops here: the command would otherwise run
    // without its environment and fail in a way that hides the cause.
    script += setup[i] + "\n";
    script += "s=$?; [ \"$s\" -eq 0 ] || { printf 'hpc-mcp: setup line " +
              std::to_string(i + 1) + " failed (exit %s): %s\\n' \"$s\" " +
              ShellQuote(setup[i]) + " >&2; exit " +
              std::to_string(kSetupFailedExitCode) + "; }\n";
  }
  script += "exec " + ShellJoin(argv);
  std::vector<std::string> outer = login_shell;
  outer.push_back("-c");
  outer.push_back(script);
  return ShellJoin(outer);
}

}  // namespace hpc::remote
