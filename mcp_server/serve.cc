#include "mcp_server/serve.h"

#include <algorithm>

#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "mcp_server/http_transport.h"
#include "mcp_server/redact.h"
#include "mcp_server/stdio_transport.h"

namespace hpc::mcp {
namespace {

int g_stop_pipe[2] = {-1, -1};

void OnSignal(int) {
  char c = 1;
  [[maybe_unused]] ssize_t n = ::write(g_stop_pipe[1], &c, 1);
}

void InstallSignals() {
  if (::pipe2(g_stop_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return;
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);  // A closed peer is an error return, not death.
}

const char* kUsage = R"(Usage: %s [options]

Transport (default: --stdio):
  --stdio                    MCP over stdin/stdout (newline-delimited JSON)
  --http                     MCP over Streamable HTTP at http://HOST:PORT/mcp
  --host HOST                address to bind (default 127.0.0.1); a non-loopback
                             address requires --auth-token-file
  --port N                   port (default 8765; 0 picks a free one)
  --port-file FILE           write the bound port to FILE once listening
  --auth-token-file FILE     require 'Authorization: Bearer <token>' (token = the
                             file's first line)
  --allow-origin ORIGIN      also accept this Origin (repeatable)
  --max-body-bytes N         largest POST body (default 4194304; larger: 413)
  --session-idle-timeout S   drop HTTP sessions idle for S seconds (default 1800)
  --max-sessions N           most HTTP sessions at once (default 1024)

General:
  --log-level LEVEL          trace, debug, info, warn, error, critical, off
                             (default info, or $HPC_MCP_LOG_LEVEL); logs go to stderr
  --page-size N              items per page of list results (default 50)
  --workers N                most tool calls running at once (default 32)
  --read-only                serve only the tools whose annotations say readOnlyHint;
                             the others are absent, as if they did not exist
  --version, --help
)";

struct Flags {
  bool http = false;
  HttpOptions http_options;
  std::string log_level;
  std::string token_file;
};

Status ParseFlags(const std::vector<AppFlag>& app_flags, int argc, char** argv, Flags* f, ServerOptions* opts,
                  bool* exit_now) {
  auto need = [&](int& i, const char* flag) -> Result<std::string> {
    if (i + 1 >= argc) return InvalidArgument(std::string(flag) + " needs a value");
    return std::string(argv[++i]);
  };
  auto number = [&](const std::string& v, const char* flag) -> Result<long> {
    char* end = nullptr;
    long n = std::strtol(v.c_str(), &end, 10);
    if (v.empty() || *end || n < 0)
      return InvalidArgument(std::string(flag) + " needs a non-negative integer, not '" + v + "'");
    return n;
  };
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
#define VALUE(flag)                         \
  auto v_ = need(i, flag);                  \
  if (!v_.ok()) return v_.status();         \
  std::string v = *v_;
#define NUMBER(flag)                        \
  VALUE(flag);                              \
  auto n_ = number(v, flag);                \
  if (!n_.ok()) return n_.status();         \
  long n = *n_;
    if (a == "--stdio") {
      f->http = false;
    } else if (a == "--http") {
      f->http = true;
    } else if (a == "--host") {
      VALUE("--host");
      f->http_options.host = v;
    } else if (a == "--port") {
      NUMBER("--port");
      if (n > 65535) return InvalidArgument("--port must be at most 65535");
      f->http_options.port = static_cast<int>(n);
    } else if (a == "--port-file") {
      VALUE("--port-file");
      f->http_options.port_file = v;
    } else if (a == "--auth-token-file") {
      VALUE("--auth-token-file");
      f->token_file = v;
    } else if (a == "--allow-origin") {
      VALUE("--allow-origin");
      f->http_options.allowed_origins.push_back(v);
    } else if (a == "--max-body-bytes") {
      NUMBER("--max-body-bytes");
      f->http_options.max_body_bytes = static_cast<size_t>(n);
    } else if (a == "--session-idle-timeout") {
      NUMBER("--session-idle-timeout");
      f->http_options.session_idle_timeout = std::chrono::seconds(n);
    } else if (a == "--max-sessions") {
      NUMBER("--max-sessions");
      f->http_options.max_sessions = static_cast<size_t>(n);
    } else if (a == "--log-level") {
      VALUE("--log-level");
      f->log_level = v;
    } else if (a == "--page-size") {
      NUMBER("--page-size");
      if (n < 1) return InvalidArgument("--page-size must be at least 1");
      opts->page_size = static_cast<size_t>(n);
    } else if (a == "--workers") {
      NUMBER("--workers");
      if (n < 1) return InvalidArgument("--workers must be at least 1");
      opts->max_workers = static_cast<size_t>(n);
    } else if (a == "--read-only") {
      opts->read_only = true;
    } else if (a == "--version") {
      std::cout << opts->name << " " << opts->version << "\n";
      *exit_now = true;
    } else if (a == "--help" || a == "-h") {
      std::printf(kUsage, argv[0]);
      if (!app_flags.empty()) std::printf("\n%s:\n", opts->name.c_str());
      for (const auto& af : app_flags) {
        std::string left = af.name + " " + af.value_name;
        std::printf("  %-25s  %s\n", left.c_str(), af.help.c_str());
      }
      *exit_now = true;
    } else {
      auto app = std::find_if(app_flags.begin(), app_flags.end(),
                              [&](const AppFlag& af) { return af.name == a; });
      if (app == app_flags.end())
        return InvalidArgument("unknown option '" + a + "' (see --help)");
      VALUE(app->name.c_str());
      Status set = app->set(v);
      if (!set.ok()) return Status(set.code(), app->name + ": " + set.message());
    }
#undef NUMBER
#undef VALUE
  }
  return Status::Ok();
}

}  // namespace

Status SetUpLogging(std::string level_name) {
  if (level_name.empty()) {
    const char* env = std::getenv("HPC_MCP_LOG_LEVEL");
    level_name = env ? env : "info";
  }
  auto level = spdlog::level::from_str(level_name);
  if (level == spdlog::level::off && level_name != "off")
    return InvalidArgument("unknown log level '" + level_name +
                           "' (trace, debug, info, warn, error, critical, off)");
  // stderr only: on stdio, stdout carries protocol messages and nothing else.
  // Every line goes through the redaction pass (redact.h) first.
  auto logger = std::make_shared<spdlog::logger>(
      "hpc-mcp",
      RedactingSink(std::make_shared<spdlog::sinks::stderr_color_sink_mt>()));
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  logger->set_level(level);
  spdlog::set_default_logger(logger);
  return Status::Ok();
}

namespace {

// The startup line: which mode, and in read-only mode what is withheld, so
// that a person reading the log knows what the agent can do.
void LogMode(const Server& server) {
  const ServerOptions& o = server.options();
  if (!o.read_only) {
    spdlog::info("{} {} starting in read-write mode: every tool is served",
                 o.name, o.version);
    return;
  }
  std::string withheld;
  for (const auto& name : server.withheld_tools())
    withheld += (withheld.empty() ? "" : ", ") + name;
  spdlog::info(
      "{} {} starting in read-only mode (--read-only): only tools with "
      "readOnlyHint are served; withheld: {}",
      o.name, o.version, withheld.empty() ? "none" : withheld);
}

}  // namespace

int ServeMain(int argc, char** argv, ServerOptions defaults,
              const std::function<Status(Server&)>& register_all,
              const std::vector<AppFlag>& app_flags) {
  // Two malloc arenas are plenty for a server of this size and keep the
  // resident set from growing with every thread that ever allocated.
  mallopt(M_ARENA_MAX, 2);
  Flags flags;
  bool exit_now = false;
  Status s = ParseFlags(app_flags, argc, argv, &flags, &defaults, &exit_now);
  if (!s.ok()) {
    std::cerr << argv[0] << ": " << s.message() << "\n";
    return 2;
  }
  if (exit_now) return 0;
  s = SetUpLogging(flags.log_level);
  if (!s.ok()) {
    std::cerr << argv[0] << ": " << s.message() << "\n";
    return 2;
  }
  if (!flags.token_file.empty()) {
    std::ifstream in(flags.token_file);
    std::string token;
    if (!in || !std::getline(in, token) || token.empty()) {
      spdlog::critical("cannot read a token from --auth-token-file {}", flags.token_file);
      return 2;
    }
    while (!token.empty() && (token.back() == '\r' || token.back() == ' '))
      token.pop_back();
    RegisterSecret(token);
    flags.http_options.auth_token = token;
  }
  if (flags.http && !IsLoopbackHost(flags.http_options.host) &&
      flags.http_options.auth_token.empty()) {
    spdlog::critical("refusing to listen on {} without --auth-token-file: anyone "
                     "who can reach it could run jobs as you",
                     flags.http_options.host);
    return 2;
  }

  Server server(defaults);
  s = register_all(server);
  if (!s.ok()) {
    spdlog::critical("cannot start: {}", s.message());
    return 2;
  }
  LogMode(server);
  InstallSignals();
  if (flags.http) {
    flags.http_options.stop_fd = g_stop_pipe[0];
    return ServeHttp(server, flags.http_options);
  }
  StdioOptions stdio;
  stdio.stop_fd = g_stop_pipe[0];
  return ServeStdio(server, stdio);
}

}  // namespace hpc::mcp
