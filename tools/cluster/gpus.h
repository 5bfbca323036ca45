// GPUs of a bare host (the `host` and `local` backends), as nvidia-smi's
// query interface reports them: which are free for the next task.
//
// A GPU is free when the memory in use on it is below the profile's
// gpus.free_below_mib (default 500 MiB): a previous job's process, ours or
// someone else's, that still holds memory makes it busy. Memory nvidia-smi
// cannot report ("[N/A]", e.g. unified-memory systems) is never free.
//
// The job wrapper (cluster_profiles/templates/job_wrapper.sh) places each
// task on free GPUs itself when the task starts (it reads the same query's
// index and memory.used columns), holding an flock per GPU so that no two
// tasks share one; this side reads the query for preflight and to refuse,
// at submission, a task that asks for more GPUs than the host has.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mcp_server/status.h"

namespace hpc::cluster {

// nvidia-smi --query-gpu=index,uuid,memory.used,memory.total
//            --format=csv,noheader,nounits
std::vector<std::string> GpuQueryArgv();

struct Gpu {
  int index = 0;
  std::string uuid;
  std::optional<int64_t> used_mib, total_mib;  // Unset: not reported.
};

// The query's output, one GPU per line (also without the uuid column).
// Tolerates the units and the header of a query without noheader/nounits;
// InvalidArgument naming the line for anything else.
Result<std::vector<Gpu>> ParseGpuQuery(std::string_view csv);

// Indices of the GPUs whose memory in use is known and below
// `free_below_mib`, in index order.
std::vector<int> FreeGpus(const std::vector<Gpu>& gpus, int64_t free_below_mib);

// "gpu:0,2" (how the wrapper reports a task's GPUs in JobStatus::nodes)
// -> {0, 2}; empty for anything else.
std::vector<int> GpusOfNodes(std::string_view nodes);

}  // namespace hpc::cluster
