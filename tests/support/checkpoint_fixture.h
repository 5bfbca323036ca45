// Checkpoints for the sign_checkpoint and verify_checkpoint tests: shard
// bytes, a checkpoint directory on this machine or on the Slurm testbed
// (backdated, since both tools refuse files still being written), and an
// SSH key to sign with.
//
// Header-only because the test build globs only *_test.cc files.
#pragma once

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/files.h"
#include "tests/support/run_repo.h"
#include "tools/remote/local_process.h"
#include "tools/runs/cluster_context.h"

namespace hpc::testing {

// Plumbing on the testbed needs no module loads.
inline remote::RunOptions NoLoginShell(std::string stdin_data = "") {
  remote::RunOptions o;
  o.login_shell = false;
  o.stdin_data = std::move(stdin_data);
  return o;
}

// `n` bytes that differ with `seed`: shards whose hashes differ.
inline std::string RandomBytes(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

// A command on this machine, which must start.
inline remote::CommandResult RunLocal(std::vector<std::string> argv,
                                      std::string stdin_data = "",
                                      std::string cwd = "") {
  remote::ProcessSpec spec;
  spec.argv = std::move(argv);
  spec.stdin_data = std::move(stdin_data);
  spec.cwd = std::move(cwd);
  auto r = remote::RunProcess(spec);
  REQUIRE(r.ok());
  return *r;
}

// An ed25519 key made for the test, and an allowed_signers file for it.
struct TestKey {
  TempDir dir;
  std::string key = (dir.path() / "id_ed25519").string();
  std::string allowed = (dir.path() / "allowed_signers").string();
  explicit TestKey(const std::string& signer = "alice@example.org") {
    REQUIRE(RunLocal({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
                      "test", "-f", key})
                .ok());
    std::ofstream(allowed) << signer << " " << ReadAll(key + ".pub");
  }
};

// A checkpoint directory on this machine.
struct LocalCheckpoint {
  std::string root;
  explicit LocalCheckpoint(std::string r) : root(std::move(r)) {
    std::filesystem::create_directories(root);
  }
  std::string Write(const std::string& rel, const std::string& content) {
    std::string p = (std::filesystem::path(root) / rel).string();
    WriteAll(p, content);
    return p;
  }
  // Every entry as if the run had stopped writing five minutes ago.
  void Backdate() {
    namespace fs = std::filesystem;
    auto t = fs::file_time_type::clock::now() - std::chrono::minutes(5);
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(root);
         it != fs::recursive_directory_iterator(); ++it)
      if (!it->is_symlink()) fs::last_write_time(it->path(), t, ec);
  }
  // A small but complete checkpoint: two shards, an index, a config.
  void Standard() {
    Write("model-00001-of-00002.safetensors", RandomBytes(300000, 1));
    Write("model-00002-of-00002.safetensors", RandomBytes(123457, 2));
    Write("model.safetensors.index.json", R"({"weight_map": {}})");
    Write("optim/optimizer.pt", RandomBytes(70000, 3));
    Write("config.yaml", "lr: 3e-4\n");
    Backdate();
  }
};

// A checkpoint directory on the Slurm testbed (profile "tb" of `repo`); the
// test's directory there is removed afterwards.
struct TestbedCheckpoint {
  RunRepo repo;
  std::string base = repo.AddTestbedProfile("tb", "slurm");
  std::unique_ptr<runs::Cluster> cluster = Open(repo);
  remote::Remote& remote = *cluster->remote;
  std::string root = cluster->work_root + "/ckpt";

  ~TestbedCheckpoint() {
    remote.Run({"rm", "-rf", "--", base}, NoLoginShell());
  }
  void Write(const std::string& rel, const std::string& content) {
    REQUIRE(remote.WriteFileAtomic(root + "/" + rel, content).ok());
  }
  // Every entry as if the run had stopped writing ten minutes ago.
  void Backdate() {
    const std::string past = "@" + std::to_string(std::time(nullptr) - 600);
    REQUIRE(
        remote
            .Run({"find", root, "-exec", "touch", "-h", "-d", past, "{}", "+"},
                 NoLoginShell())
            ->ok());
  }

 private:
  static std::unique_ptr<runs::Cluster> Open(const RunRepo& repo) {
    auto c = runs::OpenCluster("tb", repo.path());
    REQUIRE(c.ok());
    return std::move(*c);
  }
};

}  // namespace hpc::testing
