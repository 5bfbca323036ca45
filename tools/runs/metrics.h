// Training metrics read from job logs: the step, epoch, losses, learning
// rate, gradient norm and throughput a line reports, in the shapes training
// code commonly prints them:
//   key=value pairs        "step=120 loss=2.31 lr=3e-4"
//   key: value pairs       "Step: 120 | loss: 2.31 | grad_norm: 1.7"
//   JSON lines             {"step": 120, "train/loss": 2.31}
//   Hugging Face Trainer   {'loss': 2.31, 'grad_norm': 1.7, 'learning_rate': 3e-05, 'epoch': 0.5}
//   PyTorch Lightning      "Epoch 3:  45%|####5     | 450/1000 [01:10<01:26, 6.38it/s, v_num=0, train_loss=0.123]"
//   tqdm                   " 45%|####5     | 450/1000 [01:10<01:26,  6.38it/s, loss=0.123]"
//   known key, then value  "step 120/1000 | loss 2.31 | lr 3.0e-04" (Megatron, fairseq)
// Key names are normalized ("train_loss", "train/loss", "Loss" -> loss;
// "eval_loss", "val/loss", "valid_loss" -> val_loss; "learning_rate" -> lr;
// "global_step", "iter" -> step; "it/s", "samples_per_second",
// "tokens/s" -> throughput). "nan", "inf" are kept as non-finite values:
// they are what the nan_loss check looks for. A progress bar's count is the
// step; Lightning's bar counts the batches of its epoch, so there `step`
// restarts each epoch and `epoch` says which. Validation, sanity-check and
// other work's bars ("Map", "Loading checkpoint shards") count no steps.
//
// Thread-safety: pure functions.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hpc::runs {

struct MetricPoint {
  std::optional<double> step, epoch, loss, val_loss, lr, grad_norm, throughput;
  std::string throughput_unit;          // "it/s", "samples/s", "tokens/s", "s/it"->converted to it/s
  std::map<std::string, double> other;  // Further numeric keys, at most 16.
                                        // A progress bar or "step 120/1000"
                                        // adds `total` (the count it runs
                                        // to) and a bar `eta_seconds`.
  size_t line = 0;                      // 1-based line number within the text parsed.
  bool empty() const;  // No field set and nothing in `other`.
};

// The metrics one line reports, or nullopt when it reports none of the
// named ones (a line with only unrelated numbers is not a metric line). A
// line rewritten with '\r' (tqdm) reads as its last segment, as a terminal
// shows it.
std::optional<MetricPoint> ParseMetricLine(std::string_view line);

// Every metric line of `text`, in order, with `line` set (counted by
// '\n'). Each '\r'-separated segment of a line is one update and one point,
// all with that line's number, so the last one wins in Latest(). A bar
// without description whose total differs from the first such bar's is
// nested in the training loop (the HF Trainer's evaluation bar): its count
// and rate are not taken as steps and throughput.
std::vector<MetricPoint> ExtractMetrics(std::string_view text);

// The latest value of each field over `points` (later points override
// earlier ones field by field): what `progress` shows.
MetricPoint Latest(const std::vector<MetricPoint>& points);

// `s` without ANSI escape sequences (colours, cursor moves): progress bars
// and loggers print them, and they would split numbers from their keys.
std::string StripAnsi(std::string_view s);

// A number as a person reads it: integers without a decimal point, others
// with four significant digits, "nan", "inf", "-inf".
std::string FormatNumber(double v);

// {"step":..,"epoch":..,"loss":..,...}: only the fields set; non-finite
// values as the strings "nan", "inf", "-inf" (JSON has no NaN).
nlohmann::json ToJson(const MetricPoint& p);
// The inverse of ToJson (unknown keys go to `other`).
MetricPoint FromJson(const nlohmann::json& j);

}  // namespace hpc::runs
