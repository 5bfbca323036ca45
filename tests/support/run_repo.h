// An experiment repository for run-loop tests: a temp directory with
// repo-local profiles (.hpc-mcp/profiles/) whose work and log roots lie in
// the test's own space (this machine: inside the repository; the testbed:
// a fresh directory under TESTBED_WORK), so tests never touch a real home.
//
// Header-only because the test build globs only *_test.cc files.
#pragma once

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "tests/support/subprocess.h"
#include "tests/support/tool_call.h"
#include "tests/tools/remote/remote_test_support.h"
#include "tools/remote/openssh_remote.h"

namespace hpc::testing {

// One MCP session with a server that has every tool registered, in
// process, with the session's standalone stream captured (resource
// notifications land there).
struct McpClient {
  mcp::Server server{tools::DefaultServerOptions()};
  std::shared_ptr<mcp::Session> session;
  std::shared_ptr<Capture> standalone = std::make_shared<Capture>();
  int next = 1;

  McpClient() {
    REQUIRE(tools::RegisterAll(server).ok());
    session = server.NewSession("");
    session->SetStandalone(standalone);
    REQUIRE(Call("initialize", {{"protocolVersion", "2025-11-25"}}).contains("result"));
  }
  ~McpClient() { server.Shutdown(); }
  // Sends a request; `out` receives its answer (and its notifications).
  int Send(const std::string& method, json params, const std::shared_ptr<Capture>& out) {
    int id = next++;
    server.Handle(session,
                  json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}},
                  out);
    return id;
  }
  json Call(const std::string& method, json params) {
    auto out = std::make_shared<Capture>();
    Send(method, std::move(params), out);
    REQUIRE(out->WaitResponses(1, std::chrono::seconds(120)));
    return out->responses()[0];
  }
};

// How many of `events` (RunRepo::Events) are named `name`.
inline int CountEvents(const std::vector<json>& events, const std::string& name) {
  int n = 0;
  for (const auto& e : events) n += e["name"] == name;
  return n;
}

class RunRepo {
 public:
  RunRepo() {
    std::filesystem::create_directories(dir_.path() / ".hpc-mcp/profiles");
    // The embedded `local`, with roots inside the repository.
    WriteProfile("local",
                 "name: local\nscheduler: local\naccess: {kind: local}\n"
                 "shell: {login: [bash]}\n"
                 "paths:\n  work_root: " + path() + "/cluster/jobs\n  log_root: " + path() +
                     "/cluster/logs\n"
                     "limits: {max_concurrent_jobs: 4, min_query_interval_seconds: 0}\n");
  }

  const std::string path() const { return dir_.path().string(); }

  void WriteProfile(const std::string& name, const std::string& yaml) {
    std::ofstream(dir_.path() / ".hpc-mcp/profiles" / (name + ".yaml")) << yaml;
  }

  // A profile `name` for the testbed's `scheduler` (slurm | sge) over
  // libssh2, rooted in a fresh directory under TESTBED_WORK. Returns the
  // remote root.
  // `limits` and `setup` (shell lines) are the profile's, as YAML flow
  // values.
  std::string AddTestbedProfile(const std::string& name, const std::string& scheduler,
                                const std::string& limits = "{min_query_interval_seconds: 0}",
                                const std::string& setup = "[]") {
    return WriteTestbedProfile(name, scheduler, TestbedRoot(name), limits,
                               setup);
  }

  // AddTestbedProfile, but the profile's login shell finds first in its PATH
  // a `flock` that sleeps a second: every submit command reaches the
  // cluster-side submit lock late, as the ssh command of a killed server
  // can (runs/submitter.h). The reconciler's claim, run without a login
  // shell, takes the real one.
  std::string AddTestbedProfileWithLateSubmits(
      const std::string& name, const std::string& scheduler,
      const std::string& limits = "{min_query_interval_seconds: 0}") {
    const std::string root = TestbedRoot(name), shim = root + "/late-flock";
    remote::OpenSshRemote ssh(TestbedOpenSsh(RequireTestbed()));
    REQUIRE(ssh.WriteFileAtomic(
                   shim + "/flock",
                   "#!/bin/sh\nsleep 1\nexec /usr/bin/flock \"$@\"\n", 0755)
                .ok());
    return WriteTestbedProfile(name, scheduler, root, limits,
                               "[\"export PATH=" + shim + ":$PATH\"]");
  }

  // Calls `tool` with `args` plus this repository.
  json Call(const std::string& tool, json args,
            std::chrono::milliseconds timeout = std::chrono::seconds(180)) {
    args["repo"] = path();
    return CallTool(tool, std::move(args), timeout);
  }

  // Polls `run_id` until its state is not active (or `deadline`); the last
  // run view. Bounded in count and time.
  json WaitEnded(const std::string& run_id, std::chrono::seconds deadline = std::chrono::seconds(120)) {
    const auto end = std::chrono::steady_clock::now() + deadline;
    json last;
    for (int i = 0; i < 2000 && std::chrono::steady_clock::now() < end; ++i) {
      json r = Call("poll", {{"run_ids", {run_id}}});
      if (r.value("isError", false)) return r;
      last = r["structuredContent"]["runs"][0];
      std::string s = last["state"];
      if (s != "pending" && s != "running" && s != "submitting" && s != "unknown") return last;
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
    return last;
  }

  // The journal's events, parsed (header skipped), without the `audit`
  // events every mutating call adds (tests/tools/runs/audit_test.cc reads
  // those): what a call did, not that it was made.
  std::vector<json> Events() const {
    std::vector<json> out;
    std::ifstream in(dir_.path() / ".hpc-mcp/journal.jsonl");
    std::string line;
    bool first = true;
    while (std::getline(in, line)) {
      if (first) {
        first = false;
        continue;
      }
      json j = json::parse(line, nullptr, false);
      if (!j.is_discarded() && j.value("name", "") != "audit") out.push_back(j);
    }
    return out;
  }

 private:
  // A fresh directory under TESTBED_WORK for profile `name`.
  std::string TestbedRoot(const std::string& name) const {
    return RequireTestbed().work + "/runs-" + std::to_string(::getpid()) + "-" +
           name + "-" +
           std::to_string(
               std::chrono::steady_clock::now().time_since_epoch().count());
  }

  std::string WriteTestbedProfile(const std::string& name,
                                  const std::string& scheduler,
                                  const std::string& root,
                                  const std::string& limits,
                                  const std::string& setup) {
    Testbed tb = RequireTestbed();
    WriteProfile(name, "name: " + name + "\nscheduler: " + scheduler +
                           "\naccess:\n  kind: ssh\n  host: " + tb.host +
                           "\n  port: " + std::to_string(tb.port) +
                           "\n  user: " + tb.user + "\n  identity_file: " +
                           tb.key + "\n  known_hosts: " + tb.known_hosts +
                           "\nshell: {login: [bash, -l], setup: " + setup +
                           "}\npaths:\n  work_root: " + root +
                           "/work\n  log_root: " + root +
                           "/logs\nlimits: " + limits + "\n");
    return root;
  }

  TempDir dir_;
};

}  // namespace hpc::testing
