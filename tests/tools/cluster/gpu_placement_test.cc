// GPU placement on bare hosts (profile gpus.placement: nvidia-smi), end to
// end on the local backend: real jobs under the job wrapper, with an
// nvidia-smi on PATH that prints query output in the real format (this
// machine has no GPU; tests/tools/cluster/gpus_test.cc reads published
// real output). Tasks get free GPUs only, never two on one GPU, wait for
// one when none is free, prefer GPUs other than a failed attempt's, and a
// task's lingering processes are ended with it.
#include <signal.h>
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "tests/support/job_poll.h"
#include "tests/support/subprocess.h"
#include "tools/cluster/gpus.h"
#include "tools/cluster/host.h"
#include "tools/cluster/local.h"

namespace hpc::cluster {
namespace {

namespace fs = std::filesystem;
using Catch::Contains;
using testing::TempDir;

std::string Slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Puts a fake nvidia-smi first on PATH for this process and the jobs it
// starts; restores PATH on destruction.
class FakeNvidiaSmi {
 public:
  FakeNvidiaSmi(const fs::path& dir, const std::string& output) : old_path_(getenv("PATH")) {
    fs::create_directories(dir / "bin");
    out_ = dir / "smi.csv";
    Set(output);
    const fs::path smi = dir / "bin" / "nvidia-smi";
    std::ofstream(smi) << "#!/bin/sh\ncat '" << out_.string() << "'\n";
    fs::permissions(smi, fs::perms::owner_all);
    setenv("PATH", ((dir / "bin").string() + ":" + old_path_).c_str(), 1);
  }
  ~FakeNvidiaSmi() { setenv("PATH", old_path_.c_str(), 1); }
  void Set(const std::string& output) { std::ofstream(out_) << output; }

 private:
  std::string old_path_;
  fs::path out_;
};

// Four 80 GB GPUs; GPU 1 is held by someone else's process.
constexpr char kFourGpus[] =
    "0, GPU-9d3a3f5e-2c71-6b2e-8f0a-1b7c1e1a4d11, 3, 81559\n"
    "1, GPU-0b6c7e0f-61d5-3b7a-2d8e-55c2a1f0e9a2, 30211, 81559\n"
    "2, GPU-5f1d2c3b-4a59-7e86-9d7c-0e1f2a3b4c5d, 0, 81559\n"
    "3, GPU-6a7b8c9d-0e1f-2a3b-4c5d-6e7f8a9b0c1d, 120, 81559\n";

ClusterProfile GpuProfile(const fs::path& root) {
  ClusterProfile p;
  p.name = "gpu-host";
  p.scheduler = "local";
  p.work_root = root.string();
  p.gpus.nvidia_smi = true;
  p.gpus.free_below_mib = 500;
  return p;
}

JobRequest Job(const fs::path& dir, const std::string& name, const std::string& body, int gpus) {
  JobRequest r;
  r.name = name;
  r.script = "#!/bin/bash\n" + body;
  r.script_path = (dir / "scripts" / (name + ".sh")).string();
  r.workdir = dir.string();
  r.stdout_path = (dir / "logs" / "%j.out").string();
  r.stderr_path = (dir / "logs" / "%j.err").string();
  r.resources.gpus = gpus;
  return r;
}

TEST_CASE("host GPU placement: free GPUs only, one task per GPU, waiting for a free one",
          "[unit][local][gpus]") {
  TempDir tmp;
  const fs::path dir = tmp.path();
  FakeNvidiaSmi smi(dir, kFourGpus);
  auto sched = MakeLocalScheduler(GpuProfile(dir / "root"), nullptr);
  fs::create_directories(dir / "seen");
  // Four tasks, three free GPUs: one task waits for a GPU.
  JobRequest r = Job(dir, "place",
                     "echo \"$CUDA_VISIBLE_DEVICES\" > seen/$HPC_ARRAY_TASK_ID\nsleep 3\n", 1);
  r.array = "0-3";
  auto sent = sched->Submit(r);
  INFO((sent.ok() ? "" : sent.status().message()));
  REQUIRE(sent.ok());
  const std::string id = sent->job_id;

  // Three run, each on its own free GPU; the fourth waits for a GPU.
  bool seen_three = false;
  for (int i = 0; i < 100 && !seen_three; ++i) {
    auto q = sched->Query({id});
    REQUIRE(q.ok());
    std::set<std::string> gpus;
    int running = 0;
    std::string waiting;
    for (const auto& s : *q) {
      if (s.state == JobState::kRunning) {
        ++running;
        gpus.insert(s.nodes);
      }
      if (s.state == JobState::kPending) waiting = s.reason;
    }
    if (running == 3) {
      seen_three = true;
      CHECK(gpus.size() == 3);  // Never two on one GPU.
      CHECK(gpus.count("gpu:1") == 0);
      CHECK(waiting == "GPU");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK(seen_three);
  auto st = testing::WaitTerminal(*sched, {id}, std::chrono::seconds(60),
                                  std::chrono::milliseconds(250), 4);
  for (const auto& [task, s] : st) {
    INFO(task);
    CHECK(s.state == JobState::kCompleted);
  }
  std::set<std::string> used;
  for (int t = 0; t < 4; ++t) {
    std::string g = Slurp(dir / "seen" / std::to_string(t));
    INFO("task " << t << " got " << g);
    CHECK((g == "0\n" || g == "2\n" || g == "3\n"));
    used.insert(g);
  }
  CHECK(used.size() == 3);
}

TEST_CASE("host GPU placement: a retry avoids the GPU that ran out of memory if it can",
          "[unit][local][gpus]") {
  TempDir tmp;
  const fs::path dir = tmp.path();
  FakeNvidiaSmi smi(dir, kFourGpus);
  auto sched = MakeLocalScheduler(GpuProfile(dir / "root"), nullptr);
  JobRequest r = Job(dir, "avoid", "echo \"$CUDA_VISIBLE_DEVICES\" > avoided\n", 1);
  r.avoid_gpus = {0, 2};
  auto sent = sched->Submit(r);
  REQUIRE(sent.ok());
  auto st = testing::WaitTerminal(*sched, {sent->job_id}, std::chrono::seconds(30));
  CHECK(st[sent->job_id].state == JobState::kCompleted);
  CHECK(st[sent->job_id].nodes == "gpu:3");
  CHECK(Slurp(dir / "avoided") == "3\n");

  // Only avoided GPUs are free: one of them is taken rather than waiting.
  smi.Set("0, GPU-a, 3, 81559\n1, GPU-b, 30211, 81559\n");
  JobRequest again = Job(dir, "fallback", "echo \"$CUDA_VISIBLE_DEVICES\" > fallback\n", 1);
  again.avoid_gpus = {0};
  auto second = sched->Submit(again);
  REQUIRE(second.ok());
  auto st2 = testing::WaitTerminal(*sched, {second->job_id}, std::chrono::seconds(30));
  CHECK(st2[second->job_id].state == JobState::kCompleted);
  CHECK(Slurp(dir / "fallback") == "0\n");
}

TEST_CASE("host GPU placement: processes a task leaves behind are ended with it",
          "[unit][local][gpus]") {
  TempDir tmp;
  const fs::path dir = tmp.path();
  FakeNvidiaSmi smi(dir, kFourGpus);
  auto sched = MakeLocalScheduler(GpuProfile(dir / "root"), nullptr);
  auto sent = sched->Submit(Job(dir, "linger", "sleep 300 &\necho $! > linger.pid\nexit 0\n", 1));
  REQUIRE(sent.ok());
  auto st = testing::WaitTerminal(*sched, {sent->job_id}, std::chrono::seconds(60));
  CHECK(st[sent->job_id].state == JobState::kCompleted);
  const std::string pid = Slurp(dir / "linger.pid");
  REQUIRE_FALSE(pid.empty());
  CHECK(::kill(std::stoi(pid), 0) != 0);  // Gone with its task.
  bool logged = false;
  for (const auto& e : fs::recursive_directory_iterator(dir / "root"))
    if (e.path().filename() == "wrapper.log")
      logged |= Slurp(e.path()).find("outlived its script") != std::string::npos;
  CHECK(logged);
}

TEST_CASE("host GPU placement refuses a task that asks for more GPUs than the host has",
          "[unit][local][gpus]") {
  TempDir tmp;
  const fs::path dir = tmp.path();
  FakeNvidiaSmi smi(dir, kFourGpus);
  auto sched = MakeLocalScheduler(GpuProfile(dir / "root"), nullptr);
  auto sent = sched->Submit(Job(dir, "greedy", "true\n", 5));
  REQUIRE_FALSE(sent.ok());
  CHECK_THAT(sent.status().message(), Contains("asks for 5 GPUs"));
  CHECK_THAT(sent.status().message(), Contains("has 4"));
  // Without GPUs asked for, nothing is placed and nvidia-smi is not needed.
  auto cpu = sched->Submit(Job(dir, "cpu", "echo \"[${CUDA_VISIBLE_DEVICES:-}]\" > cpu\n", 0));
  REQUIRE(cpu.ok());
  testing::WaitTerminal(*sched, {cpu->job_id}, std::chrono::seconds(30));
  CHECK(Slurp(dir / "cpu") == "[]\n");
}

TEST_CASE("a profile's gpus section is for host and local schedulers only", "[unit][gpus][profile]") {
  auto ok = ParseProfile(
      "name: box\nscheduler: host\naccess: {kind: ssh, host: 127.0.0.1, user: me}\n"
      "gpus: {placement: nvidia-smi, free_below_mib: 1024}\n",
      "box.yaml");
  INFO((ok.ok() ? "" : ok.status().message()));
  REQUIRE(ok.ok());
  CHECK(ok->gpus.nvidia_smi);
  CHECK(ok->gpus.free_below_mib == 1024);
  auto slurm = ParseProfile(
      "name: c\nscheduler: slurm\naccess: {kind: ssh, host: 127.0.0.1, user: me}\n"
      "gpus: {placement: nvidia-smi}\n",
      "c.yaml");
  REQUIRE_FALSE(slurm.ok());
  CHECK_THAT(slurm.status().message(), Contains("host and local"));
}

}  // namespace
}  // namespace hpc::cluster
