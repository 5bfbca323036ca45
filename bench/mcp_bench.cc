// mcp_bench: tools/call latency and throughput of an MCP server over stdio or
// Streamable HTTP, with every response verified.
//
//   mcp_bench [options] --stdio -- CMD ARGS...
//   mcp_bench [options] --http http://127.0.0.1:PORT/mcp --server-pid PID
//
// Phases: start + handshake (initialize, notifications/initialized,
// tools/list must list the tool), warmup, latency (N sequential calls),
// throughput (K calls: stdio pipelined with W in flight; HTTP over C
// keep-alive connections, one MCP session each). Prints one JSON line on
// stdout and a table on stderr; exits 0 only if every call was verified.

#include <sys/types.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench_util.h"
#include "target.h"
#include "verifier.h"
#include "wire.h"

namespace mcp_bench {
namespace {

using nlohmann::json;

struct Options {
  std::string transport;  // "stdio" or "http"
  std::vector<std::string> command;
  std::string url;
  pid_t server_pid = -1;
  int server_cpu = -1;
  int64_t n = -1, k = -1, warmup = 2000, rss_every = 10000;
  int window = 64, conc = 8;
  double deadline_s = 120;
  double phase_s = 0;  // cap per measured phase (0 = none)
  std::string wire = "2025-11-25";
  std::string label;
  CallSpec call;
  bool full_verify = false;
};

[[noreturn]] void Usage(const char* message) {
  if (message != nullptr) fprintf(stderr, "mcp_bench: %s\n", message);
  fprintf(
      stderr,
      "usage: mcp_bench [options] --stdio -- CMD ARGS...\n"
      "       mcp_bench [options] --http URL [--server-pid PID]\n"
      "options:\n"
      "  --n N            sequential latency calls (stdio 20000, http 10000)\n"
      "  --k K            throughput calls (stdio 200000, http 100000)\n"
      "  --window W       stdio requests in flight (64)\n"
      "  --conc C         HTTP connections = sessions (8)\n"
      "  --warmup N       unmeasured calls first (2000)\n"
      "  --rss-every N    sample server VmRSS every N throughput calls "
      "(10000; 0 = off)\n"
      "  --deadline-s S   hard limit for the whole run (120); past it the\n"
      "                   run fails\n"
      "  --phase-s S      stop issuing calls in a phase after S seconds\n"
      "                   (0 = never); what was sent is still verified\n"
      "  --server-cpu N   stdio: pin the spawned server to CPU N\n"
      "  --wire V         protocol dialect: 2025-11-25 (initialize, sessions) or\n"
      "                   2026-07-28 (stateless, _meta per request)\n"
      "  --tool NAME --args JSON --expect-text TEXT\n"
      "                   the call (test_simple_text, {}, fixture text)\n"
      "  --label NAME     name in the output\n"
      "  --full-verify    parse every response (no template cache)\n");
  exit(2);
}

Options ParseOptions(int argc, char** argv) {
  Options o;
  auto value = [&](int* i) -> std::string {
    if (*i + 1 >= argc)
      Usage((std::string(argv[*i]) + " needs a value").c_str());
    return argv[++*i];
  };
  auto integer = [&](int* i) -> int64_t {
    std::string v = value(i);
    char* end = nullptr;
    long long x = strtoll(v.c_str(), &end, 10);
    if (end == v.c_str() || *end != '\0' || x < 0) {
      Usage(("bad number: " + v).c_str());
    }
    return x;
  };
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--stdio") {
      o.transport = "stdio";
    } else if (a == "--") {
      for (++i; i < argc; ++i) o.command.push_back(argv[i]);
    } else if (a == "--http") {
      o.transport = "http";
      o.url = value(&i);
    } else if (a == "--server-pid") {
      o.server_pid = static_cast<pid_t>(integer(&i));
    } else if (a == "--server-cpu") {
      o.server_cpu = static_cast<int>(integer(&i));
    } else if (a == "--n") {
      o.n = integer(&i);
    } else if (a == "--k") {
      o.k = integer(&i);
    } else if (a == "--window") {
      o.window = static_cast<int>(integer(&i));
    } else if (a == "--conc") {
      o.conc = static_cast<int>(integer(&i));
    } else if (a == "--warmup") {
      o.warmup = integer(&i);
    } else if (a == "--rss-every") {
      o.rss_every = integer(&i);
    } else if (a == "--deadline-s") {
      o.deadline_s = static_cast<double>(integer(&i));
    } else if (a == "--phase-s") {
      o.phase_s = static_cast<double>(integer(&i));
    } else if (a == "--wire") {
      o.wire = value(&i);
    } else if (a == "--tool") {
      o.call.tool = value(&i);
    } else if (a == "--args") {
      o.call.arguments_json = value(&i);
    } else if (a == "--expect-text") {
      o.call.expected_text = value(&i);
    } else if (a == "--label") {
      o.label = value(&i);
    } else if (a == "--full-verify") {
      o.full_verify = true;
    } else if (a == "-h" || a == "--help") {
      Usage(nullptr);
    } else {
      Usage(("unknown option " + a).c_str());
    }
  }
  if (o.transport.empty()) Usage("need --stdio -- CMD or --http URL");
  if (o.transport == "stdio" && o.command.empty())
    Usage("--stdio needs -- CMD");
  if (o.window < 1 || o.conc < 1 || o.conc > 1024) Usage("bad --window/--conc");
  if (o.deadline_s < 1) Usage("--deadline-s must be >= 1");
  json args = json::parse(o.call.arguments_json, nullptr, false);
  if (args.is_discarded() || !args.is_object())
    Usage("--args must be a JSON object");
  o.call.arguments_json = args.dump();  // compact, one line
  const bool stdio = o.transport == "stdio";
  if (o.n < 0) o.n = stdio ? 20000 : 10000;
  if (o.k < 0) o.k = stdio ? 200000 : 100000;
  if (o.label.empty()) o.label = o.transport;
  return o;
}

json PhaseJson(PhaseResult* r, int64_t srv_cpu_us, int64_t drv_cpu_us) {
  LatencySummary s = Summarize(&r->latency_ns);
  const double secs = r->elapsed_ns / 1e9;
  auto per_call = [&](int64_t us) -> json {
    if (us < 0 || r->calls == 0) return nullptr;
    return static_cast<double>(us) / r->calls;
  };
  return {{"calls", r->calls},
          {"capped", r->capped},
          {"seconds", secs},
          {"calls_per_s", secs > 0 ? r->calls / secs : 0.0},
          {"p50_us", s.p50_us},
          {"p90_us", s.p90_us},
          {"p99_us", s.p99_us},
          {"max_us", s.max_us},
          {"mean_us", s.mean_us},
          {"srv_cpu_us_per_call", per_call(srv_cpu_us)},
          {"drv_cpu_us_per_call", per_call(drv_cpu_us)}};
}

// Difference of two CPU readings, -1 if either was unreadable.
int64_t Delta(int64_t before, int64_t after) {
  return before < 0 || after < 0 ? -1 : after - before;
}

double Num(const json& j, const char* key) {
  return j.contains(key) && j[key].is_number() ? j[key].get<double>() : -1;
}

void PrintTable(const Options& o, const json& out) {
  FILE* f = stderr;
  fprintf(f, "mcp_bench: %s (%s, wire %s, tool %s)\n", o.label.c_str(),
          o.transport.c_str(), o.wire.c_str(), o.call.tool.c_str());
  const bool stateless = o.wire == "2026-07-28";
  fprintf(f, "  init     %8.2f ms  (%s)\n", Num(out, "init_ms"),
          o.transport == "stdio"
              ? (stateless ? "spawn -> first tools/list response" : "spawn -> initialize response")
              : (stateless ? "connect + first tools/list round trip"
                           : "connect + initialize round trip"));
  auto row = [&](const char* name, const json& p, const std::string& shape) {
    if (p.is_null() || p["calls"] == 0) return;
    fprintf(f,
            "  %-8s %-12s %9.0f calls/s  p50 %7.1f  p90 %7.1f  p99 %7.1f  "
            "max %8.1f us  srv %6.2f  drv %5.2f us/call\n",
            name, shape.c_str(), Num(p, "calls_per_s"), Num(p, "p50_us"),
            Num(p, "p90_us"), Num(p, "p99_us"), Num(p, "max_us"),
            Num(p, "srv_cpu_us_per_call"), Num(p, "drv_cpu_us_per_call"));
  };
  auto calls = [&](const json& p) {
    return std::to_string(p["calls"].get<int64_t>()) +
           (p["capped"].get<bool>() ? "*" : "");
  };
  row("latency", out["latency"], "n=" + calls(out["latency"]) + " x1");
  row("tput", out["throughput"],
      "k=" + calls(out["throughput"]) + " x" +
          std::to_string(o.transport == "stdio" ? o.window : o.conc));
  const json& rss = out["rss"];
  fprintf(f, "  rss      peak VmHWM %.1f MB (RssAnon at end %.1f MB)",
          Num(rss, "hwm_kb") / 1024, Num(rss, "anon_kb") / 1024);
  if (!rss["samples_kb"].empty()) {
    fprintf(f, "; VmRSS every %lld calls: first %.1f last %.1f max %.1f MB",
            static_cast<long long>(o.rss_every), Num(rss, "first_kb") / 1024,
            Num(rss, "last_kb") / 1024, Num(rss, "max_kb") / 1024);
  }
  if (out["latency"]["capped"] == true || out["throughput"]["capped"] == true) {
    fprintf(f, "\n  * stopped by --phase-s %.0f", o.phase_s);
  }
  fprintf(f,
          "\n  verified %lld calls (%lld full parses), %lld notifications, "
          "%lld reconnects: %s\n",
          static_cast<long long>(out["verified"].get<int64_t>()),
          static_cast<long long>(out["full_parses"].get<int64_t>()),
          static_cast<long long>(out["notifications"].get<int64_t>()),
          static_cast<long long>(out["reconnects"].get<int64_t>()),
          out["ok"].get<bool>()
              ? "OK"
              : ("FAILED: " + out["error"].get<std::string>()).c_str());
}

int Run(const Options& o) {
  std::unique_ptr<Wire> wire = MakeWire(o.wire);
  if (wire == nullptr) Usage(("unknown --wire " + o.wire).c_str());
  Deadline deadline(o.deadline_s);
  CallVerifier verifier(o.call.expected_text, o.full_verify);
  TargetContext ctx{wire.get(), o.call, &verifier, &deadline};
  std::unique_ptr<Target> target;
  std::string error;
  const bool stdio = o.transport == "stdio";
  if (stdio) {
    target = MakeStdioTarget(&ctx, o.command, o.server_cpu);
  } else {
    target = MakeHttpTarget(&ctx, o.url, o.server_pid, &error);
    if (target == nullptr) Usage(error.c_str());
  }
  const int conc = stdio ? o.window : o.conc;

  double init_ms = -1;
  PhaseResult warm, lat, tput;
  int64_t srv_lat = -1, srv_tput = -1, drv_lat = -1, drv_tput = -1;
  bool ok = target->Open(&init_ms);
  const pid_t pid = target->server_pid();
  const int64_t cap_ns = static_cast<int64_t>(o.phase_s * 1e9);
  if (ok && o.warmup > 0) {
    ok = target->RunCalls({o.warmup, conc, 0, cap_ns}, &warm);
  }
  if (ok) {
    int64_t s0 = ProcessCpuUs(pid), d0 = SelfCpuUs();
    ok = target->RunCalls({o.n, 1, 0, cap_ns}, &lat);
    srv_lat = Delta(s0, ProcessCpuUs(pid));
    drv_lat = SelfCpuUs() - d0;
  }
  if (ok) {
    int64_t s0 = ProcessCpuUs(pid), d0 = SelfCpuUs();
    ok = target->RunCalls({o.k, conc, o.rss_every, cap_ns}, &tput);
    srv_tput = Delta(s0, ProcessCpuUs(pid));
    drv_tput = SelfCpuUs() - d0;
  }
  const int64_t hwm_kb = ProcessStatusKb(pid, "VmHWM");
  const int64_t rss_kb = ProcessStatusKb(pid, "VmRSS");
  // Private memory; the rest of VmRSS is mostly shared library pages.
  const int64_t anon_kb = ProcessStatusKb(pid, "RssAnon");
  if (!ok) error = target->error();
  target->Close();

  // Every request sent must have been answered and verified.
  const int64_t verified = warm.calls + lat.calls + tput.calls;
  ok = ok && verified == warm.issued + lat.issued + tput.issued;
  json rss = {{"hwm_kb", hwm_kb},
              {"end_kb", rss_kb},
              {"anon_kb", anon_kb},
              {"every", o.rss_every},
              {"samples_kb", tput.rss_kb}};
  if (!tput.rss_kb.empty()) {
    int64_t max_kb = 0;
    for (int64_t v : tput.rss_kb) max_kb = std::max(max_kb, v);
    rss["first_kb"] = tput.rss_kb.front();
    rss["last_kb"] = tput.rss_kb.back();
    rss["max_kb"] = max_kb;
    rss["growth_kb"] = tput.rss_kb.back() - tput.rss_kb.front();
  }
  json out = {
      {"label", o.label},
      {"transport", o.transport},
      {"wire", o.wire},
      {"tool", o.call.tool},
      {"server_pid", pid},
      {"init_ms", init_ms},
      {"warmup", o.warmup},
      {"window", stdio ? o.window : 1},
      {"conc", stdio ? 1 : o.conc},
      {"latency", PhaseJson(&lat, srv_lat, drv_lat)},
      {"throughput", PhaseJson(&tput, srv_tput, drv_tput)},
      {"rss", rss},
      {"verified", verified},
      {"full_parses", verifier.full_checks()},
      {"notifications",
       warm.notifications + lat.notifications + tput.notifications},
      {"reconnects", warm.reconnects + lat.reconnects + tput.reconnects},
      {"ok", ok},
      {"error", ok ? "" : (error.empty() ? "not every call verified" : error)}};
  // Error excerpts quote server bytes, which may not be valid UTF-8.
  printf("%s\n",
         out.dump(-1, ' ', false, json::error_handler_t::replace).c_str());
  fflush(stdout);
  PrintTable(o, out);
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace mcp_bench

int main(int argc, char** argv) {
  return mcp_bench::Run(mcp_bench::ParseOptions(argc, argv));
}
