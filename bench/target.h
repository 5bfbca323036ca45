// A server under test, reached over one transport. The driver's phases
// (handshake, warmup, latency, throughput) only use this interface, so a new
// transport or wire mode plugs in without touching them.

#ifndef HPC_MCP_BENCH_TARGET_H_
#define HPC_MCP_BENCH_TARGET_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "bench_util.h"
#include "verifier.h"
#include "wire.h"

namespace mcp_bench {

// Everything a target shares with the driver; owned by main().
struct TargetContext {
  const Wire* wire;
  CallSpec call;
  CallVerifier* verifier;
  const Deadline* deadline;
  // tools/call ids are 10-digit numbers counting up from here across all
  // phases and sessions, so every request of a run has its own id and all
  // request (and so response) lines have the same length.
  int64_t next_call_id = 1000000000;
};

// How to run one batch of tools/call.
struct CallPlan {
  int64_t count = 0;
  // stdio: requests in flight (pipelining window); HTTP: connections, each
  // its own MCP session sending sequential POSTs.
  int concurrency = 1;
  // Sample the server's VmRSS every this many completed calls (0 = never).
  int64_t rss_every = 0;
  // Stop issuing new calls after this long (0 = no cap); calls in flight
  // are still awaited and verified. Keeps a slow server within the budget.
  int64_t max_ns = 0;
};

struct PhaseResult {
  int64_t issued = 0;         // requests sent
  int64_t calls = 0;          // verified tools/call responses
  bool capped = false;        // stopped early by CallPlan::max_ns
  int64_t notifications = 0;  // server notifications seen (ignored)
  int64_t reconnects = 0;     // HTTP connections reopened (idle-closed)
  int64_t elapsed_ns = 0;
  std::vector<int64_t> latency_ns;  // one per call
  std::vector<int64_t> rss_kb;      // VmRSS samples (see CallPlan)
};

class Target {
 public:
  virtual ~Target() = default;
  // Starts or connects, runs the handshake, checks that the tool is listed.
  // *init_ms: stdio from spawn to the initialize response; HTTP the first
  // session's connect + initialize round trip.
  virtual bool Open(double* init_ms) = 0;
  virtual pid_t server_pid() const = 0;
  virtual bool RunCalls(const CallPlan& plan, PhaseResult* out) = 0;
  // Ends sessions and, for a spawned server, stops it (bounded in time).
  virtual void Close() = 0;
  const std::string& error() const { return error_; }

 protected:
  bool Fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
    return false;
  }
  std::string error_;
};

// Parses a handshake response (initialize, tools/list) to request `id`:
// kOk fills *result; kNotification means "not it, keep reading".
CallVerifier::Verdict ParseHandshakeResponse(std::string_view message,
                                             int64_t id, nlohmann::json* result,
                                             std::string* error);

// Looks for spec.tool in a tools/list result; sets *next_cursor ("" = end).
bool ToolListed(const nlohmann::json& result, const std::string& tool,
                std::string* next_cursor, std::string* error);

// --stdio: argv is the server command (no shell). server_cpu >= 0 pins the
// server to that CPU (it inherits the affinity at spawn).
std::unique_ptr<Target> MakeStdioTarget(TargetContext* ctx,
                                        std::vector<std::string> argv,
                                        int server_cpu);

// --http: url must be http://127.0.0.1:PORT/PATH (or localhost).
std::unique_ptr<Target> MakeHttpTarget(TargetContext* ctx,
                                       const std::string& url, pid_t server_pid,
                                       std::string* error);

}  // namespace mcp_bench

#endif  // HPC_MCP_BENCH_TARGET_H_
