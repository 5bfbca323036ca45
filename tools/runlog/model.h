// What a run log file shows, gathered from the journal: the run (and the
// runs that resumed it), what the agent said about it over its calls, the
// status entries, the results. render.h turns it into markdown; history.h
// builds it.
//
// write_run_log journals each call as one `linked` event (runs/run.h), so
// that Fold keeps the file in Run::links["run_log"] and this file's model
// can be replayed from the journal alone. Its context:
//   kind     "run_log"
//   value    the run log's repository-relative path
//   action   create | status | complete | resume | publish
//   inputs   the agent's fields of that call (objective, dataset, next, ...)
//   code     create: the repository's branch and commit then
//   job      what the scheduler said of the run's jobs then: start, end
//            (ISO UTC), nodes
//   entry    status: {text, state, evidence {step, loss, ...}, source
//            (agent | log | poll)}
//   results  complete: runtime_s, start, end, final_step,
//            start/end_train_loss, start/end_val_loss, last_metrics, and
//            the run's checkpoint / config_snapshot links when it has them
//   published  publish: the TRAINING_LOG.md written
//
// Thread-safety: values.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace hpc::runlog {

inline constexpr char kLinkKind[] = "run_log";

// One job block: the first run, or one that resumed it.
struct JobBlock {
  std::string run_id, profile, scheduler, state, native_state;
  std::optional<int> exit_code;
  std::vector<std::pair<std::string, std::string>> jobs;  // role, job id.
  std::string submitted, started, ended;  // ISO UTC; empty when unknown.
  std::optional<int64_t> runtime_s;
  std::string nodes;
  std::string stdout_path;   // The main job's log ({task}: the first task).
  std::string command;       // As a shell shows it.
  std::string resumed_from;  // The checkpoint a resumption started from.
  std::string wandb_url, wandb_local;
  // The last sign_checkpoint of the run: the `linked` checkpoint_signoff
  // event's context (value: SIGNOFF.json, verdict, reason,
  // passport_sha256); null when never signed.
  nlohmann::json signoff;
  bool resumed = false;
};

struct StatusEntry {
  int64_t at = 0;  // Unix seconds.
  std::string state, text, source;
  nlohmann::json evidence = nlohmann::json::object();  // step, loss, ...
};

struct RunLogModel {
  std::string path;       // Repository-relative.
  std::string task, day;  // From the file name.
  // The agent's fields over every call on this file, later ones winning.
  nlohmann::json notes = nlohmann::json::object();
  std::string code;     // Branch @ commit at create.
  nlohmann::json spec;  // The first run's submit spec.
  std::string workdir;
  std::vector<JobBlock> blocks;     // In creation order.
  std::vector<StatusEntry> status;  // In journal order.
  nlohmann::json results;           // The last complete's; null before.
  nlohmann::json progress;          // The last run's latest metrics.

  // A note as text ("" when absent).
  std::string Note(const char* key) const;
  const JobBlock* last() const {
    return blocks.empty() ? nullptr : &blocks.back();
  }
  bool experiment() const { return Note("run_type") == "experiment"; }
};

}  // namespace hpc::runlog
