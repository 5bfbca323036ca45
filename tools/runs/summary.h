// One-line summaries of runs for tool answers: what a person reads first.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace hpc::runs {

// "20261123-bert-a1f3 running 00:12:04/04:00:00 · step 1200 · loss 2.31 ·
// health ok" or "... failed · gpu_oom: CUDA out of memory ..." from a run
// view (poller.h RunJson).
std::string RunLine(const nlohmann::json& view);

// A metric as a person reads it: integers without a decimal point, others
// with four significant digits; "nan"/"inf" (metrics.h) as they are.
std::string FormatMetric(const nlohmann::json& v);

// "3 active: 2 running, 1 pending" over run views.
std::string CountLine(const std::vector<nlohmann::json>& views);

}  // namespace hpc::runs
