// Turning a Run request (argv + RunOptions) into what a shell on the target
// executes. Shared by SshRemote, OpenSshRemote and LocalRemote's login-shell
// path, so that every implementation crosses a shell the same way.
//
// Values never enter a script: cwd and environment values travel as separate
// words after constant scripts, and ShellJoin/WrapInLoginShell (shell.h, the
// only quoting code) turn the final argv into one string.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "mcp_server/status.h"
#include "tools/remote/remote.h"

namespace hpc::remote {

// InvalidArgument (no reason: the caller's bug) when argv is empty, argv[0]
// is empty or contains '=' (env(1) would take it for an assignment), any
// argument, cwd or env entry holds a NUL byte (it cannot cross exec), or an
// environment name is not a shell identifier.
Status ValidateRun(const std::vector<std::string>& argv,
                   const RunOptions& options);

// The argv that applies options.cwd and options.env, then execs argv:
//   argv                                                  (neither)
//   env NAME=VALUE... argv...                             (env only)
//   sh -c 'cd -- "$1" || exit; shift; exec "$@"' sh DIR [env NAME=VALUE...]
//   argv...
// REQUIRES: ValidateRun(argv, options).ok()
std::vector<std::string> WithCwdAndEnv(const std::vector<std::string>& argv,
                                       const RunOptions& options);

// The string an SSH server's shell runs for this request:
// WrapInLoginShell(login_shell, setup, WithCwdAndEnv(argv, options)) when
// options.login_shell and `login_shell` is non-empty, else
// ShellJoin(WithCwdAndEnv(argv, options)).
// REQUIRES: ValidateRun(argv, options).ok()
std::string RemoteCommandLine(const std::vector<std::string>& argv,
                              const RunOptions& options,
                              const std::vector<std::string>& login_shell,
                              const std::vector<std::string>& setup);

// The Linux number of a signal named as SSH reports it ("TERM", "KILL");
// 0 when unknown.
int SignalNumber(std::string_view name);

// `text` cut to `max` bytes with "..." appended when longer, for messages.
std::string Abbreviate(std::string_view text, size_t max = 200);

}  // namespace hpc::remote
