// A notice as the patrol would make it for a run that died of a GPU OOM:
// the sample every notification test renders or delivers.
#pragma once

#include "tools/notify/notify.h"

namespace hpc::testing {

inline notify::Notice FailedNotice() {
  notify::Notice n;
  n.key = "j1:20261123-bert-a1b2:run_failed:1";
  n.event = "run_failed";
  n.repo = "/home/ada/bert";
  n.run_id = "20261123-bert-a1b2";
  n.run_name = "bert";
  n.profile = "slurm-a";
  n.state = "out_of_memory";
  n.runtime = "3h12m";
  n.last_step = "48000/100000";
  n.last_metric = "loss 2.31";
  n.diagnosis = "gpu_oom: CUDA out of memory";
  n.evidence =
      "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB";
  n.next = "halve the batch size or turn on gradient checkpointing";
  n.at = "2026-11-23T10:00:00Z";
  return n;
}

}  // namespace hpc::testing
