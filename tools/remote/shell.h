// The only quoting code in hpc-mcp.
//
// Whenever a command must cross a shell (SSH exec hands the remote user's
// shell a string), each argument is quoted here so that the shell sees it as
// one literal word: no expansion, no splitting, no command substitution.
// POSIX single quotes make everything literal except the single quote
// itself, which is written as '\'' .
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hpc::remote {

// One literal shell word for `arg` (always quoted unless it consists only of
// characters that no POSIX shell treats specially).
std::string ShellQuote(std::string_view arg);

// The words of `argv`, quoted and joined by spaces.
std::string ShellJoin(const std::vector<std::string>& argv);

// The exit status of a command whose setup line failed.
inline constexpr int kSetupFailedExitCode = 125;

// The string an SSH server's shell must run to execute `argv` inside
// `login_shell` (e.g. {"bash", "-l"}) after `setup` lines (module loads):
//   bash -l -c '<setup lines>\nexec <argv>'
// with every level quoted by ShellQuote. Each setup line is one complete
// command; when one exits non-zero, the command does not run: the shell
// prints "hpc-mcp: setup line N failed (exit S): <line>" on stderr and exits
// kSetupFailedExitCode.
std::string WrapInLoginShell(const std::vector<std::string>& login_shell,
                             const std::vector<std::string>& setup,
                             const std::vector<std::string>& argv);

}  // namespace hpc::remote
