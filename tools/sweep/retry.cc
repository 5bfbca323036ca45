#include "tools/sweep/retry.h"

namespace hpc::sweep {

bool PrefersElsewhere(std::string_view category) {
  return category == "gpu_oom" || category == "host_oom" ||
         category == "node_fail";
}

RetryDecision DecideRetry(const RetryPolicy& policy, std::string_view category,
                          int attempts) {
  RetryDecision d;
  const std::string cat(category.empty() ? "unknown" : category);
  auto it = policy.rules.find(category);
  if (it == policy.rules.end()) {
    d.why = cat +
            " is not retried (the same task would fail the same way): "
            "parked as stuck for a person";
    return d;
  }
  const RetryRule& rule = it->second;
  if (attempts >= rule.max_attempts) {
    d.why = cat + " after " + std::to_string(attempts) + " of " +
            std::to_string(rule.max_attempts) +
            " attempts: parked as stuck for a person";
    return d;
  }
  d.retry = true;
  d.delay_seconds = rule.delay_seconds;
  d.elsewhere = PrefersElsewhere(category);
  d.why = cat + ": attempt " + std::to_string(attempts + 1) + " of " +
          std::to_string(rule.max_attempts) +
          (rule.delay_seconds > 0
               ? " in " + std::to_string(rule.delay_seconds) + " s"
               : " at once");
  return d;
}

}  // namespace hpc::sweep
