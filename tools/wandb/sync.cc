#include "tools/wandb/sync.h"

#include <regex>
#include <sstream>

#include "mcp_server/redact.h"
#include "tools/remote/shell.h"

namespace hpc::wandb {
namespace {

using nlohmann::json;

constexpr uint64_t kMaxTokenFileBytes = 4096;

std::vector<std::string> Strings(const json& j, const char* key) {
  std::vector<std::string> out;
  if (j.is_object() && j.contains(key) && j[key].is_array())
    for (const auto& v : j[key])
      if (v.is_string()) out.push_back(v);
  return out;
}

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  size_t e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

// Reads the key line from stdin into the environment, drops the variables
// that could pick another destination, points wandb at the profile's server
// and runs the wandb words under timeout(1). Constant: values arrive as
// positional parameters ($1 base URL, $2 seconds, then the words).
const std::string& SyncScript() {
  static const std::string script = [] {
    std::string unset;
    for (const auto& v : ClearedVariables()) unset += " " + v;
    return "IFS= read -r WANDB_API_KEY || [ -n \"$WANDB_API_KEY\" ] || "
           "{ echo 'hpc-mcp: no API key line on stdin' >&2; exit " +
           std::to_string(kNoKeyExitCode) +
           "; }\n"
           "export WANDB_API_KEY\n"
           "unset" +
           unset +
           "\n"
           "WANDB_BASE_URL=$1\n"
           "export WANDB_BASE_URL\n"
           "t=$2\n"
           "shift 2\n"
           "exec timeout -k 10 \"$t\" \"$@\"\n";
  }();
  return script;
}

// Resolves `cd -P` to the real directory and refuses when it is not the one
// expected (a symlink on the way); then deletes below it without following
// links (find -P is the default) or leaving the filesystem.
constexpr char kPruneScript[] =
    "cd -P -- \"$1\" || exit 3\n"
    "here=$(pwd -P)\n"
    "if [ \"$here\" != \"$2\" ]; then\n"
    "  echo \"hpc-mcp: $1 resolves to $here, not $2 (a symlink on the way); "
    "nothing removed\" >&2\n"
    "  exit 4\n"
    "fi\n"
    "exec find . -xdev -mindepth 1 -delete\n";

}  // namespace

Target TargetFromProfile(const json& wandb) {
  Target t;
  if (!wandb.is_object()) return t;
  t.via = wandb.value("via", t.via);
  if (auto c = Strings(wandb, "command"); !c.empty()) t.command = c;
  t.srun_args = Strings(wandb, "srun_args");
  t.container_exec = Strings(wandb, "container_exec");
  t.base_url = wandb.value("base_url", t.base_url);
  t.token_file = wandb.value("token_file", "");
  return t;
}

const std::vector<std::string>& ClearedVariables() {
  static const std::vector<std::string> vars = {
      "WANDB_ENTITY",   "WANDB_PROJECT",
      "WANDB_BASE_URL", "WANDB_APP_URL",
      "WANDB_RUN_ID",   "WANDB_RUN_GROUP",
      "WANDB_JOB_TYPE", "WANDB_NAME",
      "WANDB_NOTES",    "WANDB_TAGS",
      "WANDB_RESUME",   "WANDB_MODE",
      "WANDB_USERNAME", "WANDB_IDENTITY_TOKEN_FILE"};
  return vars;
}

std::vector<std::string> WandbArgv(const Target& t, const SyncRequest& r) {
  std::vector<std::string> argv;
  if (t.via == "srun") {
    argv.push_back("srun");
    argv.insert(argv.end(), t.srun_args.begin(), t.srun_args.end());
  }
  if (t.via == "container" || t.via == "srun")
    argv.insert(argv.end(), t.container_exec.begin(), t.container_exec.end());
  argv.insert(argv.end(), t.command.begin(), t.command.end());
  argv.insert(argv.end(),
              {"sync", "--entity", r.entity, "--project", r.project});
  if (!r.wandb_id.empty()) argv.insert(argv.end(), {"--id", r.wandb_id});
  if (!r.mark_synced) argv.push_back("--no-mark-synced");
  argv.insert(argv.end(), {"--", r.run_dir});
  return argv;
}

std::vector<std::string> SyncArgv(const Target& t, const SyncRequest& r) {
  std::vector<std::string> argv = {"sh",         "-c",
                                   SyncScript(), "hpc-mcp-wandb-sync",
                                   t.base_url,   std::to_string(r.timeout_s)};
  auto words = WandbArgv(t, r);
  argv.insert(argv.end(), words.begin(), words.end());
  return argv;
}

std::string DisplayCommand(const Target& t, const SyncRequest& r,
                           const std::string& token_file) {
  const std::string key =
      token_file.empty() ? std::string("<no token file>")
                         : "\"$(cat " + remote::ShellQuote(token_file) + ")\"";
  return "WANDB_API_KEY=" + key +
         " WANDB_BASE_URL=" + remote::ShellQuote(t.base_url) + " " +
         remote::ShellJoin(WandbArgv(t, r));
}

bool ValidKey(const std::string& key) {
  if (key.size() < 20 || key.size() > 512) return false;
  for (unsigned char c : key)
    if (c < 0x21 || c > 0x7e) return false;
  return true;
}

Result<Token> FindToken(remote::Remote& remote, const std::string& home,
                        const std::string& explicit_path, const Target& t) {
  std::vector<std::string> candidates;
  const bool chosen = !explicit_path.empty() || !t.token_file.empty();
  if (!explicit_path.empty())
    candidates = {explicit_path};
  else if (!t.token_file.empty())
    candidates = {t.token_file};
  else
    candidates = {"~/.wandb_token", "~/.wandb_key"};
  std::vector<std::string> tried;
  for (std::string path : candidates) {
    if (path == "~" || path.rfind("~/", 0) == 0) path = home + path.substr(1);
    if (path.empty() || path[0] != '/')
      return InvalidArgument("token_file '" + path +
                             "' must be absolute or start with ~/");
    tried.push_back(path);
    auto st = remote.Stat(path);
    if (!st.ok()) {
      if (st.status().code() == StatusCode::kNotFound) continue;
      return st.status();
    }
    if (st->is_dir)
      return InvalidArgument("token file " + path + " is a directory");
    if (st->size > kMaxTokenFileBytes)
      return InvalidArgument(
          "token file " + path + " is " + std::to_string(st->size) +
          " bytes; it should hold only the W&B API key, on one line");
    auto text = remote.ReadFile(path, 0, kMaxTokenFileBytes);
    if (!text.ok()) return text.status();
    std::istringstream lines(*text);
    std::string line, key;
    int keys = 0;
    while (std::getline(lines, line)) {
      line = Trim(line);
      if (line.empty()) continue;
      ++keys;
      key = line;
    }
    // The message never quotes the file: it may be a key in a wrong format.
    if (keys != 1 || !ValidKey(key))
      return InvalidArgument(
          "token file " + path +
          " does not hold one W&B API key line (20-512 visible characters, "
          "nothing else); fix the file, its content is not shown here");
    Token tok;
    tok.path = path;
    tok.key = std::move(key);
    mcp::RegisterSecret(tok.key);  // Kept out of answers, logs, the journal.
    tok.group_or_world_readable = (st->mode & 077) != 0;
    return tok;
  }
  std::string list;
  for (const auto& p : tried) list += (list.empty() ? "" : ", ") + p;
  return Status(StatusCode::kNotFound, "no W&B token file on " +
                                           remote.Describe() + " (looked for " +
                                           list + ")")
      .WithReason("wandb_token_missing", false,
                  chosen ? "create that file with the API key on one line "
                           "(chmod 600), or pass "
                           "another token_file"
                         : "ask the user to put their W&B API key in "
                           "~/.wandb_token (one line, "
                           "chmod 600) on that machine, or pass token_file");
}

std::string Redact(std::string text, const std::string& secret) {
  if (secret.empty()) return text;
  static const std::string kMark = "[redacted]";
  for (size_t at = text.find(secret); at != std::string::npos;
       at = text.find(secret, at + kMark.size()))
    text.replace(at, secret.size(), kMark);
  return text;
}

SyncOutcome ParseSyncOutput(const std::string& out, const std::string& err) {
  static const std::regex kSyncing(R"(Syncing: (\S+) \.\.\.(.*))");
  static const std::regex kUrl(
      R"(https?://[^/\s]+/([^/\s]+)/([^/\s]+)/runs/([^/\s?#]+)/?)");
  static const std::regex kSkip(R"(Skipping directory: (.*))");
  SyncOutcome o;
  std::istringstream in(out + "\n" + err);
  std::string line;
  while (std::getline(in, line)) {
    // Progress may redraw with carriage returns; the last frame counts.
    if (size_t cr = line.find_last_of('\r');
        cr != std::string::npos && cr + 1 < line.size())
      line = line.substr(cr + 1);
    std::smatch m;
    if (std::regex_search(line, m, kSyncing)) {
      o.url = m[1].str();
      o.done = m[2].str().find("done") != std::string::npos;
      std::smatch u;
      if (std::regex_match(o.url, u, kUrl)) {
        o.url_entity = u[1].str();
        o.url_project = u[2].str();
        o.url_run_id = u[3].str();
      }
    } else if (std::regex_search(line, m, kSkip)) {
      o.skipped.push_back(Trim(m[1].str()));
    } else if (line.rfind("wandb: ERROR", 0) == 0 ||
               line.rfind("Error:", 0) == 0 || line.rfind("ERROR", 0) == 0) {
      o.errors.push_back(Trim(line));
    } else if (!o.url.empty() && !o.done && Trim(line) == "done.") {
      o.done = true;  // "done." on a line of its own after other output.
    }
  }
  return o;
}

Result<std::string> RealPath(remote::Remote& remote, const std::string& dir) {
  remote::RunOptions o;
  o.login_shell = false;
  o.timeout = std::chrono::seconds(60);
  auto r = remote.Run(
      {"sh", "-c", "cd -P -- \"$1\" && pwd -P", "hpc-mcp-realpath", dir}, o);
  if (!r.ok()) return r.status();
  std::string out = r->out;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r'))
    out.pop_back();
  if (!r->ok() || out.empty() || out[0] != '/')
    return FailedPrecondition("cannot resolve " + dir + " on " +
                              remote.Describe() + ": " + Trim(r->err));
  return out;
}

Status PruneStaging(remote::Remote& remote, const std::string& dir,
                    const std::string& expected_real) {
  remote::RunOptions o;
  o.login_shell = false;
  o.timeout = std::chrono::seconds(600);
  auto r = remote.Run(
      {"sh", "-c", kPruneScript, "hpc-mcp-prune", dir, expected_real}, o);
  if (!r.ok()) return r.status();
  if (!r->ok())
    return Status(StatusCode::kFailedPrecondition,
                  "pruning " + dir + " failed (exit " +
                      std::to_string(r->exit_code) + "): " + Trim(r->err))
        .WithReason("command_failed", false,
                    "look at the directory by hand; nothing else was "
                    "touched");
  return Status::Ok();
}

}  // namespace hpc::wandb
