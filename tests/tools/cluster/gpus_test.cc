// nvidia-smi's query output (gpus.h). No GPU is attached to the machines
// that run these tests: the samples with a header and units, and the
// "[N/A]" memory of a unified-memory system, are real output quoted in
// public logs and notebooks; the noheader/nounits sample of hpc-mcp's own
// query is written in that exact shape (its UUIDs are made up).
#include "tools/cluster/gpus.h"

#include <catch2/catch.hpp>

namespace hpc::cluster {
namespace {

using Catch::Contains;

TEST_CASE("nvidia-smi query output with header and units (two T4s)", "[unit][gpus]") {
  // A Colab-style two-GPU machine serving a model on GPU 0.
  auto gpus = ParseGpuQuery(
      "index, memory.used [MiB], memory.total [MiB]\n"
      "0, 13395 MiB, 15360 MiB\n"
      "1, 3 MiB, 15360 MiB\n");
  REQUIRE(gpus.ok());
  REQUIRE(gpus->size() == 2);
  CHECK((*gpus)[0].index == 0);
  CHECK((*gpus)[0].used_mib == 13395);
  CHECK((*gpus)[0].total_mib == 15360);
  CHECK((*gpus)[1].used_mib == 3);
  CHECK(FreeGpus(*gpus, 500) == std::vector<int>{1});
}

TEST_CASE("two GPUs held by placeholder processes are not free", "[unit][gpus]") {
  auto gpus = ParseGpuQuery(
      "index, memory.used [MiB], memory.total [MiB], utilization.gpu [%]\n"
      "0, 40361 MiB, 49140 MiB, 100 %\n"
      "1, 40381 MiB, 49140 MiB, 100 %\n");
  // Four columns with a header: the fourth is not memory.total here.
  CHECK_FALSE(gpus.ok());
  auto three = ParseGpuQuery("0, 40361, 49140\n1, 40381, 49140\n");
  REQUIRE(three.ok());
  CHECK(FreeGpus(*three, 500).empty());
  CHECK(FreeGpus(*three, 50000) == std::vector<int>{0, 1});
}

TEST_CASE("the query hpc-mcp runs: index, uuid, used, total without units", "[unit][gpus]") {
  auto gpus = ParseGpuQuery(
      "0, GPU-9d3a3f5e-2c71-6b2e-8f0a-1b7c1e1a4d11, 0, 81559\n"
      "1, GPU-0b6c7e0f-61d5-3b7a-2d8e-55c2a1f0e9a2, 81042, 81559\n"
      "2, GPU-5f1d2c3b-4a59-7e86-9d7c-0e1f2a3b4c5d, 499, 81559\n"
      "3, GPU-6a7b8c9d-0e1f-2a3b-4c5d-6e7f8a9b0c1d, 500, 81559\n");
  REQUIRE(gpus.ok());
  CHECK((*gpus)[1].uuid == "GPU-0b6c7e0f-61d5-3b7a-2d8e-55c2a1f0e9a2");
  CHECK(FreeGpus(*gpus, 500) == std::vector<int>{0, 2});  // 500 itself is in use.
}

TEST_CASE("memory nvidia-smi cannot report is never free", "[unit][gpus]") {
  // A unified-memory system (Grace Blackwell) answers [N/A] for memory.
  auto gpus = ParseGpuQuery("index, memory.used [MiB], memory.total [MiB]\n0, [N/A], [N/A]\n");
  REQUIRE(gpus.ok());
  REQUIRE(gpus->size() == 1);
  CHECK_FALSE((*gpus)[0].used_mib.has_value());
  CHECK(FreeGpus(*gpus, 500).empty());
}

TEST_CASE("malformed nvidia-smi output names its line", "[unit][gpus]") {
  auto bad = ParseGpuQuery("0, GPU-x, 12, 100\nNVIDIA-SMI has failed because it couldn't communicate\n");
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.status().message(), Contains("line 2"));
  CHECK_FALSE(ParseGpuQuery("x, GPU-x, 1, 2\n").ok());
  CHECK_FALSE(ParseGpuQuery("0, GPU-x, lots, 2\n").ok());
  CHECK(ParseGpuQuery("").ok());
}

TEST_CASE("the GPUs a task ran on, as the wrapper reports them", "[unit][gpus]") {
  CHECK(GpusOfNodes("gpu:0,2") == std::vector<int>{0, 2});
  CHECK(GpusOfNodes("gpu:3") == std::vector<int>{3});
  CHECK(GpusOfNodes("node01").empty());
  CHECK(GpusOfNodes("").empty());
  CHECK(GpuQueryArgv().front() == "nvidia-smi");
}

}  // namespace
}  // namespace hpc::cluster
