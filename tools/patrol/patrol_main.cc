#include "tools/patrol/patrol_main.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "mcp_server/serve.h"
#include "tools/notify/notify.h"
#include "tools/patrol/patrol.h"
#include "tools/runs/repo_registry.h"
#include "tools/runs/store.h"

namespace hpc::tools {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr std::chrono::seconds kMinEvery{10};

std::atomic<bool> g_stop{false};

void OnStop(int) { g_stop = true; }

const char* kUsage = R"(Usage: hpc-mcp patrol [options]

Polls the active runs of each repository with the same code as the `poll`
tool (same journal events, same query cache), announces what the notify
config selects (each notice once, whatever else patrols), and writes
<repo>/.hpc-mcp/heartbeat.md, the digest to read first at cold start.

  --repo DIR              a repository to patrol (repeatable); default: every
                          repository hpc-mcp has worked in (%s)
  --every DURATION        a pass every DURATION (30s, 10m, 1h; at least 10s)
                          until SIGTERM or SIGINT; default: one pass
  --notify-config FILE    notifications (default: %s, when it exists)
  --state-dir DIR         as `hpc-mcp --state-dir`
  --log-level LEVEL       trace, debug, info, warn, error, critical, off
                          (default info, or $HPC_MCP_LOG_LEVEL); logs go to stderr
  --help

One pass exits 0 when every repository was patrolled, 1 when one could not
be read, 2 for a bad command line or notify config.
)";

struct Flags {
  std::vector<std::string> repos;
  std::optional<std::chrono::seconds> every;
  std::string notify_config, state_dir, log_level;
  bool help = false;
};

Result<std::chrono::seconds> ParseDuration(const std::string& v) {
  size_t digits = 0;
  while (digits < v.size() &&
         std::isdigit(static_cast<unsigned char>(v[digits])))
    ++digits;
  const std::string unit = v.substr(digits);
  long long n = digits && digits < 10 ? std::stoll(v.substr(0, digits)) : -1;
  long long scale = unit.empty() || unit == "s" ? 1
                    : unit == "m"               ? 60
                    : unit == "h"               ? 3600
                                                : 0;
  if (n < 0 || !scale)
    return InvalidArgument(
        "--every needs a duration such as 30s, 10m or 1h, not '" + v + "'");
  std::chrono::seconds d{n * scale};
  if (d < kMinEvery)
    return InvalidArgument("--every " + v +
                           " is too often: at least 10s (the scheduler is "
                           "asked once per pass and cluster)");
  return d;
}

Status ParseFlags(int argc, char** argv, Flags* f) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      f->help = true;
      continue;
    }
    if (a != "--repo" && a != "--every" && a != "--notify-config" &&
        a != "--state-dir" && a != "--log-level")
      return InvalidArgument("unknown option '" + a +
                             "' (see hpc-mcp patrol --help)");
    if (i + 1 >= argc) return InvalidArgument(a + " needs a value");
    const std::string v = argv[++i];
    if (a == "--repo") {
      std::error_code ec;
      fs::path p = fs::weakly_canonical(fs::absolute(v, ec), ec);
      f->repos.push_back(ec ? v : p.string());
    } else if (a == "--every") {
      auto d = ParseDuration(v);
      if (!d.ok()) return d.status();
      f->every = *d;
    } else if (a == "--notify-config") {
      f->notify_config = v;
    } else if (a == "--state-dir") {
      if (v.empty() || v[0] != '/')
        return InvalidArgument(
            "--state-dir needs an absolute directory, not '" + v + "'");
      f->state_dir = v;
    } else {
      f->log_level = v;
    }
  }
  return Status::Ok();
}

// The notify config for this pass: the file named, else the default file
// when it exists. None: no notifications.
Result<std::optional<notify::Config>> LoadNotify(const std::string& named) {
  std::string path = named;
  if (path.empty()) {
    std::error_code ec;
    path = notify::DefaultConfigPath();
    if (!fs::exists(path, ec)) return std::optional<notify::Config>();
  }
  auto config = notify::LoadConfig(path);
  if (!config.ok()) return config.status();
  return std::optional<notify::Config>(std::move(*config));
}

// One pass over every repository; false when one could not be read.
bool Pass(const Flags& flags, const patrol::PatrolOptions& options) {
  const bool named = !flags.repos.empty();
  std::vector<std::string> repos = named ? flags.repos : runs::SeenRepos();
  if (repos.empty())
    spdlog::info(
        "no repository to patrol: hpc-mcp has not worked in any yet ({})",
        runs::RepoRegistryPath());
  bool all = true;
  for (const auto& repo : repos) {
    if (g_stop) break;
    std::error_code ec;
    if (!named && !fs::is_directory(repo, ec)) {
      spdlog::info("skipped {}: it no longer exists", repo);
      continue;
    }
    Result<patrol::RepoReport> r = Internal("not patrolled");
    try {
      r = patrol::PatrolRepo(repo, options);
    } catch (const std::exception& e) {
      // The edge of the patrol, as tool dispatch is the server's: a bug in
      // one repository's pass must not end a user service.
      r = Internal(std::string("unexpected error: ") + e.what());
    }
    if (!r.ok()) {
      spdlog::error("cannot patrol {}: {}", repo, r.status().message());
      all = false;
      continue;
    }
    if (r->skipped) {
      spdlog::info("skipped {}: no journal (nothing was submitted from there)",
                   repo);
      continue;
    }
    for (const auto& e : r->errors) spdlog::warn("{}: {}", repo, e);
    spdlog::info(
        "patrolled {}: {} active run(s), {} changed, {} notice(s) sent, {} "
        "failed",
        repo, r->active, r->changed, r->sent, r->failed);
  }
  return all;
}

void InstallStopHandlers() {
  struct sigaction sa {};
  sa.sa_handler = OnStop;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // A pass in flight finishes; the loop then stops.
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
}

}  // namespace

int PatrolMain(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);  // A closed peer is an error return, not death.
  Flags flags;
  if (Status s = ParseFlags(argc, argv, &flags); !s.ok()) {
    std::fprintf(stderr, "hpc-mcp patrol: %s\n", s.message().c_str());
    return 2;
  }
  if (flags.help) {
    std::printf(kUsage, runs::RepoRegistryPath().c_str(),
                notify::DefaultConfigPath().c_str());
    return 0;
  }
  if (Status s = mcp::SetUpLogging(flags.log_level); !s.ok()) {
    std::fprintf(stderr, "hpc-mcp patrol: %s\n", s.message().c_str());
    return 2;
  }
  if (!flags.state_dir.empty()) runs::SetStateDirOverride(flags.state_dir);
  patrol::PatrolOptions options;
  options.by = patrol::PatrolName();
  auto notify = LoadNotify(flags.notify_config);
  if (!notify.ok()) {
    spdlog::critical("cannot use the notify config: {}",
                     notify.status().message());
    return 2;
  }
  options.notify = std::move(*notify);
  if (!options.notify)
    spdlog::info("no notify config: nothing will be announced");

  if (!flags.every) return Pass(flags, options) ? 0 : 1;

  InstallStopHandlers();
  spdlog::info("{} starts: a pass every {} s", options.by,
               flags.every->count());
  while (!g_stop) {
    const auto next = Clock::now() + *flags.every;
    Pass(flags, options);
    // Sleep in short slices so that a stop is prompt between passes.
    while (!g_stop && Clock::now() < next)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (g_stop) break;
    // The config is read again each pass: an edit takes effect without a
    // restart; a broken edit keeps the previous config.
    auto again = LoadNotify(flags.notify_config);
    if (again.ok())
      options.notify = std::move(*again);
    else
      spdlog::error("keeping the previous notify config: {}",
                    again.status().message());
  }
  spdlog::info("{} stops", options.by);
  return 0;
}

}  // namespace hpc::tools
