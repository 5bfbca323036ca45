// A sweep's retry policy: which failures are retried, how often and after
// what delay, by the diagnosis category of the failure (runs/diagnosis.h).
//
// Only failures that say nothing about the task itself are retried: a GPU
// still held by someone else's job (gpu_oom), a node short of memory
// (host_oom), a dead node (node_fail), a preemption (preempted). Anything
// else (an import error, NaN loss, a timeout that needs a checkpoint to
// resume from) would fail the same way again, so the task is parked as
// `stuck` with its diagnosis for a person. The numbers come from the
// sweep's `retry:` section, whose defaults are in schemas/sweep.json:
// gpu_oom 3 attempts 120 s apart, host_oom 2 attempts 300 s apart,
// node_fail 3 attempts and preempted 5 attempts at once.
//
// Thread-safety: values and pure functions.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace hpc::sweep {

struct RetryRule {
  int max_attempts = 1;  // Attempts in all, the first included.
  int delay_seconds = 0;
};

struct RetryPolicy {
  // By diagnosis category; a category not here is never retried.
  std::map<std::string, RetryRule, std::less<>> rules;
};

struct RetryDecision {
  bool retry = false;
  int delay_seconds = 0;
  // Prefer another GPU or node than the failed attempt's where the backend
  // can choose: the memory or the node that failed may still be bad.
  bool elsewhere = false;
  std::string why;  // One line for the journal and the summary.
};

// Whether a retry after `category` should prefer another GPU or node than
// the failed attempt's: GPU or host memory held by others, a failing node.
bool PrefersElsewhere(std::string_view category);

// What to do after attempt number `attempts` (1 for the first) of a task
// failed with diagnosis `category`.
RetryDecision DecideRetry(const RetryPolicy& policy, std::string_view category,
                          int attempts);

}  // namespace hpc::sweep
