#include "tools/checkpoint/git_state.h"

#include <cctype>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "tools/remote/local_process.h"

namespace hpc::checkpoint {
namespace {

// `git -C repo args...`, its stdout without the final newline; nullopt when
// git is missing or fails.
std::optional<std::string> Git(const std::string& repo,
                               std::vector<std::string> args) {
  remote::ProcessSpec spec;
  spec.argv = {"git", "-C", repo};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.timeout = std::chrono::seconds(20);
  auto r = remote::RunProcess(spec);
  if (!r.ok() || !r->ok()) return std::nullopt;
  std::string out = r->out;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r'))
    out.pop_back();
  return out;
}

}  // namespace

GitState ReadGitState(const std::string& repo) {
  GitState s;
  auto head = Git(repo, {"rev-parse", "--verify", "--quiet", "HEAD"});
  if (!head || (head->size() != 40 && head->size() != 64)) return s;
  s.commit = *head;
  if (auto status =
          Git(repo, {"status", "--porcelain", "--untracked-files=no"}))
    s.dirty = !status->empty();
  return s;
}

std::string DefaultSigner(const std::string& repo) {
  std::string who = Git(repo, {"config", "user.email"}).value_or("");
  if (who.empty()) {
    const char* user = std::getenv("USER");
    who = user ? user : "";
  }
  std::string out;
  for (char c : who)
    if (std::isalnum(static_cast<unsigned char>(c)) ||
        std::string_view("._@+-").find(c) != std::string_view::npos)
      out += c;
  return out.substr(0, 128);
}

}  // namespace hpc::checkpoint
