#include "tools/runs/diagnosis.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <functional>
#include <initializer_list>
#include <string_view>

// How a diagnosis is reached (see diagnosis.h for the categories' order):
//   1. The logs are split into lines ('\n' and tqdm's '\r'), with ANSI
//      colors and per-rank prefixes ("[rank3]:", srun --label's "3: ")
//      removed, and Python tracebacks located: the exception line that ends
//      each one. Wrappers that only report a child's failure (torchrun's
//      ChildFailedError, accelerate's CalledProcessError) are skipped, so the
//      "final exception" is the one that names the cause.
//   2. Rules that prove a cause from the log run first, most specific first.
//      Under TIMEOUT and CANCELLED the scheduler killed the job, and what the
//      dying processes print (NCCL errors from ranks that lost their peers,
//      a crash in a signal handler) is a consequence, so those two rules do
//      not override the state; under NODE_FAIL and PREEMPTED no log line
//      does. A suppressed rule still adds a line of evidence.
//   3. Then the scheduler's state, then quick_death, then unknown.
// Bare "No such file or directory" / "Permission denied" lines are common
// noise (a missing ~/.bashrc, a module system): when a traceback ends in some
// other exception, they do not decide the category.

namespace hpc::runs {
namespace {

using cluster::JobState;

constexpr size_t kMaxEvidence = 5;
constexpr size_t kMaxEvidenceBytes = 299;  // Each line under 300 bytes.
constexpr int64_t kQuickDeathSeconds = 60;

// ---------------------------------------------------------------------------
// Text helpers.

char Lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
}

bool IContains(std::string_view s, std::string_view needle) {
  if (needle.size() > s.size()) return false;
  for (size_t i = 0; i + needle.size() <= s.size(); ++i) {
    size_t k = 0;
    while (k < needle.size() && Lower(s[i + k]) == Lower(needle[k])) ++k;
    if (k == needle.size()) return true;
  }
  return false;
}

bool IContainsAny(std::string_view s,
                  std::initializer_list<std::string_view> needles) {
  for (std::string_view n : needles)
    if (IContains(s, n)) return true;
  return false;
}

std::string_view Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r' || s[b] == '\n'))
    ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r' ||
                   s[e - 1] == '\n'))
    --e;
  return s.substr(b, e - b);
}


// Removes the prefixes launchers put before each rank's lines: "[rank3]: ",
// "[default3]:" (torchrun), "3: " (srun --label).
std::string_view StripRankPrefix(std::string_view s) {
  if (s.starts_with("[rank") || s.starts_with("[default")) {
    size_t close = s.find("]:");
    if (close != std::string_view::npos && close < 16) {
      s.remove_prefix(close + 2);
      if (s.starts_with(" ")) s.remove_prefix(1);
      return s;
    }
  }
  size_t d = 0;
  while (d < s.size() && d < 5 && s[d] >= '0' && s[d] <= '9') ++d;
  if (d > 0 && d + 1 < s.size() && s[d] == ':' && s[d + 1] == ' ')
    s.remove_prefix(d + 2);
  return s;
}

// A quoted log line: trimmed, under 300 bytes, cut on a UTF-8 boundary.
std::string Clip(std::string_view s) {
  s = Trim(s);
  if (s.size() <= kMaxEvidenceBytes) return std::string(s);
  size_t n = kMaxEvidenceBytes - 3;  // Room for "…".
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return std::string(s.substr(0, n)) + "\xE2\x80\xA6";
}


std::string HumanDuration(int64_t s) {
  char buf[32];
  if (s < 120) return std::to_string(s) + " s";
  if (s < 2 * 3600) return std::to_string(s / 60) + " min";
  std::snprintf(buf, sizeof buf, "%.1f h", s / 3600.0);
  return buf;
}

// Slurm's time format: "HH:MM:SS", or "D-HH:MM:SS" from a day on.
std::string SlurmTime(int64_t s) {
  char buf[32];
  int64_t d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60, sec = s % 60;
  if (d > 0)
    std::snprintf(buf, sizeof buf, "%lld-%02lld:%02lld:%02lld",
                  static_cast<long long>(d), static_cast<long long>(h),
                  static_cast<long long>(m), static_cast<long long>(sec));
  else
    std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld",
                  static_cast<long long>(h), static_cast<long long>(m),
                  static_cast<long long>(sec));
  return buf;
}

// Seconds of a requested time limit: Slurm's "M", "M:S", "H:M:S", "D-H",
// "D-H:M", "D-H:M:S" (Grid Engine's h_rt "H:M:S" is among them); nullopt
// for "UNLIMITED" or anything else.
std::optional<int64_t> ParseTimeLimit(std::string_view t) {
  t = Trim(t);
  if (t.empty()) return std::nullopt;
  int64_t days = 0;
  bool has_days = false;
  if (size_t dash = t.find('-'); dash != std::string_view::npos) {
    int64_t v = 0;
    for (char c : t.substr(0, dash)) {
      if (c < '0' || c > '9') return std::nullopt;
      v = v * 10 + (c - '0');
    }
    if (dash == 0) return std::nullopt;
    days = v;
    has_days = true;
    t = t.substr(dash + 1);
  }
  std::vector<int64_t> parts;
  int64_t cur = 0;
  bool digits = false;
  for (char c : t) {
    if (c == ':') {
      if (!digits) return std::nullopt;
      parts.push_back(cur);
      cur = 0;
      digits = false;
    } else if (c >= '0' && c <= '9') {
      cur = cur * 10 + (c - '0');
      digits = true;
      if (cur > 100000000) return std::nullopt;
    } else {
      return std::nullopt;
    }
  }
  if (!digits || parts.size() > 2) return std::nullopt;
  parts.push_back(cur);
  int64_t s = 0;
  if (has_days) {  // D-H, D-H:M, D-H:M:S
    s = parts[0] * 3600 + (parts.size() > 1 ? parts[1] * 60 : 0) +
        (parts.size() > 2 ? parts[2] : 0);
  } else if (parts.size() == 1) {
    s = parts[0] * 60;  // Minutes.
  } else if (parts.size() == 2) {
    s = parts[0] * 60 + parts[1];
  } else {
    s = parts[0] * 3600 + parts[1] * 60 + parts[2];
  }
  return days * 86400 + s;
}

int64_t RoundUpToQuarterHour(double seconds) {
  return static_cast<int64_t>(std::ceil(seconds / 900.0)) * 900;
}

// The text after `marker` up to one of `stops` (or the end), trimmed.
std::string After(std::string_view s, std::string_view marker,
                  std::initializer_list<std::string_view> stops) {
  size_t at = s.find(marker);
  if (at == std::string_view::npos) return "";
  std::string_view rest = s.substr(at + marker.size());
  size_t end = rest.size();
  for (std::string_view stop : stops) end = std::min(end, rest.find(stop));
  return std::string(Trim(rest.substr(0, end)));
}

// The first '…' or "…" quoted string in `s`; an apostrophe inside a word
// ("can't") opens none.
std::string FirstQuoted(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\'' && s[i] != '"') continue;
    if (i > 0 && std::isalnum(static_cast<unsigned char>(s[i - 1]))) continue;
    size_t end = s.find(s[i], i + 1);
    if (end == std::string_view::npos) return "";
    return std::string(s.substr(i + 1, end - i - 1));
  }
  return "";
}

// ---------------------------------------------------------------------------
// The logs, prepared once.

struct Line {
  std::string text;  // Prefixes and colors removed, trimmed.
  bool indented = false;
  bool stderr_line = false;
  bool frame = false;  // Inside a traceback: a file/line or a source line.
};

struct Logs {
  std::vector<Line> lines;  // stderr first, then stdout.
  // Index in `lines` of the exception that names the cause: the last
  // non-wrapper exception ending a traceback (stderr preferred); -1: none.
  int final_exception = -1;
  size_t stderr_count = 0;
};

bool IsWrapperException(std::string_view text) {
  return IContainsAny(
      text, {"ChildFailedError", "CalledProcessError", "SignalException",
             "SystemExit", "KeyboardInterrupt"});
}

// "ValueError: x", "torch.OutOfMemoryError: ...", "KeyError" alone.
bool LooksLikeException(std::string_view text) {
  size_t end = text.find(':');
  std::string_view name = text.substr(0, end);
  if (name.empty() || name.size() > 120) return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.'))
      return false;
  return std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_';
}

void AddStream(std::string_view raw, bool is_stderr, Logs& logs,
               int* last_exception) {
  bool in_traceback = false;
  size_t pos = 0;
  while (pos <= raw.size()) {
    size_t end = raw.find_first_of("\r\n", pos);
    if (end == std::string_view::npos) end = raw.size();
    std::string plain = StripAnsi(raw.substr(pos, end - pos));
    pos = end + 1;
    std::string_view body = StripRankPrefix(plain);
    std::string_view text = Trim(body);
    if (text.empty()) continue;
    Line line;
    line.text = std::string(text);
    line.indented = body[0] == ' ' || body[0] == '\t';
    line.stderr_line = is_stderr;
    logs.lines.push_back(std::move(line));
    Line& l = logs.lines.back();
    // Anywhere in the line: tqdm leaves its bar without a newline before it.
    if (l.text.find("Traceback (most recent call last)") != std::string::npos) {
      in_traceback = true;
      continue;
    }
    if (in_traceback && l.indented) l.frame = true;
    if (in_traceback && !l.indented) {
      in_traceback = false;
      if (LooksLikeException(l.text) && !IsWrapperException(l.text))
        *last_exception = static_cast<int>(logs.lines.size() - 1);
    }
  }
}

Logs Prepare(const DiagnosisInput& in) {
  Logs logs;
  int err_exception = -1, out_exception = -1;
  AddStream(in.stderr_tail, true, logs, &err_exception);
  logs.stderr_count = logs.lines.size();
  AddStream(in.stdout_tail, false, logs, &out_exception);
  logs.final_exception = err_exception >= 0 ? err_exception : out_exception;
  return logs;
}

const Line* FinalException(const Logs& logs) {
  return logs.final_exception >= 0 ? &logs.lines[logs.final_exception]
                                   : nullptr;
}

// The lines containing any of `patterns` (case-insensitive), the final
// exception first when it is one of them; never traceback frames (source
// lines such as `raise ValueError("loss is nan")` quote code, not events).
// With `noise_prone`, nothing when a traceback ended in an exception that
// matches none of them.
std::vector<const Line*> Find(const Logs& logs,
                              std::initializer_list<std::string_view> patterns,
                              bool noise_prone = false) {
  std::vector<const Line*> out;
  const Line* final = FinalException(logs);
  bool final_matches = final && IContainsAny(final->text, patterns);
  if (noise_prone && final && !final_matches) return out;
  if (final_matches) out.push_back(final);
  for (const Line& l : logs.lines)
    if (&l != final && !l.frame && IContainsAny(l.text, patterns))
      out.push_back(&l);
  return out;
}

// ---------------------------------------------------------------------------
// Building a diagnosis.

struct Ctx {
  const DiagnosisInput& in;
  Logs logs;
  std::vector<MetricPoint> metrics;  // The input's, or parsed from the tails.
  std::optional<int64_t> elapsed;
};

void AddEvidence(Diagnosis& d, std::string_view line) {
  if (d.evidence.size() >= kMaxEvidence) return;
  std::string clipped = Clip(line);
  if (clipped.empty()) return;
  if (std::find(d.evidence.begin(), d.evidence.end(), clipped) !=
      d.evidence.end())
    return;
  d.evidence.push_back(std::move(clipped));
}

void AddEvidence(Diagnosis& d, const std::vector<const Line*>& lines) {
  for (const Line* l : lines) AddEvidence(d, l->text);
}

// "scheduler: TIMEOUT, exit code 0, signal 15, nodes gpu01, ran 4.0 h".
std::string SchedulerLine(const Ctx& c) {
  const cluster::JobStatus& s = c.in.status;
  std::string line =
      "scheduler: " + (s.native_state.empty()
                           ? std::string(cluster::JobStateName(s.state))
                           : s.native_state);
  if (s.exit_code) line += ", exit code " + std::to_string(*s.exit_code);
  if (s.signal) line += ", signal " + std::to_string(*s.signal);
  if (!s.nodes.empty()) line += ", nodes " + s.nodes;
  if (c.elapsed) line += ", ran " + HumanDuration(*c.elapsed);
  if (!s.reason.empty()) line += ", reason: " + s.reason;
  return line;
}

Diagnosis Make(const char* category, std::string summary,
               std::string remediation, bool retryable = false) {
  Diagnosis d;
  d.category = category;
  d.summary = std::move(summary);
  d.remediation = std::move(remediation);
  d.retryable = retryable;
  return d;
}

std::string ResumeHint(const Ctx& c) {
  return c.in.newest_checkpoint.empty()
             ? ""
             : " Resume from " + c.in.newest_checkpoint + ".";
}

std::string ExcludeHint(const Ctx& c) {
  const std::string& nodes = c.in.status.nodes;
  if (nodes.empty()) return "";
  return " If it happens again on " + nodes +
         ", exclude that node (Slurm --exclude=" + nodes +
         ", Grid Engine -l h='!" + nodes + "').";
}

// The last point with a loss (or val_loss) value, and whether it is finite.
const MetricPoint* LastLossPoint(const std::vector<MetricPoint>& m) {
  for (auto it = m.rbegin(); it != m.rend(); ++it)
    if (it->loss || it->val_loss) return &*it;
  return nullptr;
}

bool NonFiniteLoss(const MetricPoint& p) {
  return (p.loss && !std::isfinite(*p.loss)) ||
         (p.val_loss && !std::isfinite(*p.val_loss));
}

// --- The rules, in the order of diagnosis.h. ---

std::optional<Diagnosis> GpuOom(const Ctx& c) {
  auto lines = Find(c.logs, {"CUDA out of memory", "CUDA error: out of memory",
                             "CUBLAS_STATUS_ALLOC_FAILED",
                             "CUDNN_STATUS_ALLOC_FAILED", "OutOfMemoryError",
                             "HIP out of memory", "cudaErrorMemoryAllocation",
                             "Cuda failure 'out of memory'",  // NCCL's wording.
                             "RESOURCE_EXHAUSTED: Out of memory"});
  if (lines.empty()) return std::nullopt;
  std::string tried, capacity;
  bool fragmented = false;
  for (const Line* l : lines) {
    if (tried.empty())
      tried = After(l->text, "Tried to allocate ", {". ", " (", ";"});
    if (capacity.empty())
      capacity = After(l->text, "total capacity of ", {" of which", ";", ". "});
    if (IContains(l->text, "reserved but unallocated")) fragmented = true;
  }
  std::string summary = "The job ran out of GPU memory";
  if (!tried.empty() || !capacity.empty()) {
    summary += " (";
    if (!tried.empty()) summary += "tried to allocate " + tried;
    if (!tried.empty() && !capacity.empty())
      summary += " on a GPU of ";
    else if (!capacity.empty())
      summary += "GPU of ";
    if (!capacity.empty()) summary += capacity;
    summary += ")";
  }
  std::string fix =
      "Use less GPU memory per step: halve the per-device batch size and "
      "double gradient "
      "accumulation to keep the effective batch (HF Trainer: "
      "per_device_train_batch_size, "
      "gradient_accumulation_steps; Lightning: the DataLoader batch_size, "
      "accumulate_grad_batches), enable gradient checkpointing, train in bf16, "
      "or request a GPU "
      "with more memory.";
  if (fragmented)
    fix +=
        " The allocator reports much reserved-but-unallocated memory: set "
        "PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True in the job's "
        "environment.";
  Diagnosis d = Make("gpu_oom", summary, fix + ResumeHint(c));
  AddEvidence(d, lines);
  return d;
}

std::optional<Diagnosis> HostOom(const Ctx& c) {
  const cluster::JobStatus& s = c.in.status;
  auto lines = Find(
      c.logs, {"oom_kill event", "oom-kill", "OOM Killed", "oom-killer",
               "Out of memory: Killed process", "Memory cgroup out of memory",
               "exceeded memory limit", "exceeded job memory limit",
               "is killed by signal: Killed", "MemoryError", "std::bad_alloc",
               "Cannot allocate memory", "can't allocate memory"});
  for (const Line& l :
       c.logs.lines)  // Grid Engine: "... exceeds job hard limit "h_vmem" ..."
    if (IContains(l.text, "h_vmem") && IContains(l.text, "exceed"))
      lines.push_back(&l);
  // A SIGKILL and bash's "Killed" say OOM only when the scheduler did not
  // kill the job itself (at its time limit, or cancelling it).
  bool killed9 = (s.exit_code == 137 || s.signal == 9) &&
                 s.state != JobState::kTimeout &&
                 s.state != JobState::kCancelled;
  if (!lines.empty() || killed9) {
    // bash reports a SIGKILLed child: "slurm_script: line 12: 4242 Killed
    // python train.py"; it names the command that was killed.
    for (const Line& l : c.logs.lines)
      if (l.text == "Killed" ||
          (IContains(l.text, " Killed ") && IContains(l.text, "line ")))
        lines.push_back(&l);
  }
  if (lines.empty() && s.state != JobState::kOutOfMemory) return std::nullopt;
  Diagnosis d =
      Make("host_oom",
           s.state == JobState::kOutOfMemory
               ? "The job exceeded its host (CPU) memory and the scheduler "
                 "killed it (OUT_OF_MEMORY)"
               : "The job ran out of host (CPU) memory and was killed",
           "Request more host memory (Slurm --mem or --mem-per-cpu, Grid "
           "Engine -l h_vmem, which is "
           "per slot; the profile's defaults.mem), or use less: fewer "
           "DataLoader workers "
           "(num_workers) and a smaller prefetch_factor, stream or memory-map "
           "the dataset instead of "
           "loading it whole, load the model with low_cpu_mem_usage." +
               ResumeHint(c));
  AddEvidence(d, lines);
  AddEvidence(d, SchedulerLine(c));
  return d;
}

std::optional<Diagnosis> NanLoss(const Ctx& c) {
  auto lines =
      Find(c.logs, {"loss is nan", "loss is inf", "nan loss", "non-finite loss",
                    "nonfinite loss", "loss is not finite", "NaN or Inf found",
                    "returned nan values", "Minimum loss scale reached"});
  const MetricPoint* last = LastLossPoint(c.metrics);
  bool metrics_nan = last && NonFiniteLoss(*last);
  if (lines.empty() && !metrics_nan) return std::nullopt;
  // Where it went bad: the first non-finite loss after the last finite one.
  const MetricPoint* last_finite = nullptr;
  const MetricPoint* first_bad = nullptr;
  for (const MetricPoint& p : c.metrics) {
    if (!p.loss && !p.val_loss) continue;
    if (NonFiniteLoss(p)) {
      if (!first_bad) first_bad = &p;
    } else {
      last_finite = &p;
      first_bad = nullptr;
    }
  }
  std::string where;
  if (first_bad && first_bad->step) where = " at step " + FormatNumber(*first_bad->step);
  std::string summary =
      "The loss became NaN/inf" + where + " and training could not recover";
  if (last_finite && last_finite->loss)
    summary += "; the last finite loss was " + FormatNumber(*last_finite->loss) +
               (last_finite->step ? " at step " + FormatNumber(*last_finite->step) : "");
  std::string fix =
      "Resume from the last checkpoint saved before the loss went non-finite" +
      (first_bad && first_bad->step
           ? " (before step " + FormatNumber(*first_bad->step) + ")"
           : std::string()) +
      (c.in.newest_checkpoint.empty()
           ? std::string()
           : "; the newest one, " + c.in.newest_checkpoint +
                 ", holds NaN weights if it was saved after that") +
      ". Then lower the learning rate (halve it, or lengthen the warmup), clip "
      "gradients "
      "(max_grad_norm 1.0), prefer bf16 over fp16, and check the data around "
      "that step for "
      "empty or corrupt samples.";
  Diagnosis d = Make("nan_loss", summary, fix);
  AddEvidence(d, lines);
  // Quote the metric lines that show it, when the tails still hold them.
  for (const Line& l : c.logs.lines) {
    if (d.evidence.size() >= 3) break;
    if (auto p = ParseMetricLine(l.text); p && NonFiniteLoss(*p))
      AddEvidence(d, l.text);
  }
  if (d.evidence.empty() && first_bad)
    AddEvidence(
        d, "metrics: loss " + FormatNumber(first_bad->loss.value_or(NAN)) +
               (first_bad->step ? " at step " + FormatNumber(*first_bad->step) : "") +
               (first_bad->line
                    ? " (log line " + std::to_string(first_bad->line) + ")"
                    : ""));
  return d;
}

std::optional<Diagnosis> NcclError(const Ctx& c) {
  auto lines =
      Find(c.logs,
           {"NCCL error", "ncclInternalError", "ncclSystemError",
            "ncclUnhandledCudaError", "ncclInvalidUsage", "ncclInvalidArgument",
            "ncclRemoteError", "Watchdog caught collective operation timeout",
            "DistBackendError", "NCCL communicator was aborted", "NCCL WARN"});
  if (lines.empty()) return std::nullopt;
  // The watchdog's line says which collective hung; put it first.
  std::stable_partition(lines.begin(), lines.end(), [](const Line* l) {
    return IContains(l->text, "Watchdog caught collective operation timeout");
  });
  bool hang = IContains(lines.front()->text,
                        "Watchdog caught collective operation timeout");
  std::string summary =
      hang ? "A collective operation (NCCL) timed out: some rank stopped "
             "taking part (crashed, hung or much slower than the others)"
           : "NCCL, the GPU communication library, failed between ranks";
  std::string fix =
      "Look for the first rank that failed: an exception or OOM on one rank "
      "shows up as NCCL "
      "errors on the others. Rerun with NCCL_DEBUG=INFO (and "
      "TORCH_NCCL_ASYNC_ERROR_HANDLING=1, "
      "TORCH_DISTRIBUTED_DEBUG=DETAIL) to find the failing rank and link.";
  if (hang)
    fix +=
        " If one step is legitimately slow (checkpointing, evaluation on rank "
        "0 only), raise "
        "the timeout: init_process_group(timeout=timedelta(minutes=60)).";
  fix += ExcludeHint(c) + ResumeHint(c);
  Diagnosis d = Make("nccl_error", summary, fix);
  AddEvidence(d, lines);
  return d;
}

// pip's name for a module whose import name differs.
std::string PipName(const std::string& module) {
  static const std::pair<const char*, const char*> kNames[] = {
      {"sklearn", "scikit-learn"}, {"cv2", "opencv-python"},
      {"PIL", "pillow"},           {"yaml", "pyyaml"},
      {"bs4", "beautifulsoup4"},   {"skimage", "scikit-image"},
      {"attr", "attrs"},           {"google.protobuf", "protobuf"},
  };
  for (const auto& [import_name, pip] : kNames)
    if (module == import_name) return pip;
  return module;
}

std::optional<Diagnosis> ImportError(const Ctx& c) {
  auto lines = Find(
      c.logs, {"ModuleNotFoundError", "ImportError", "No module named",
               "cannot open shared object file",
               "error while loading shared libraries", "undefined symbol"});
  if (lines.empty()) return std::nullopt;
  std::string module, name_from, library;
  bool abi = false;
  for (const Line* l : lines) {
    if (module.empty()) module = After(l->text, "No module named ", {" ", ";"});
    if (name_from.empty() && IContains(l->text, "cannot import name"))
      name_from = After(l->text, "cannot import name ", {" ("});
    if (library.empty() &&
        IContains(l->text, "cannot open shared object file")) {
      std::string before =
          std::string(l->text.substr(0, l->text.find(": cannot open shared")));
      size_t colon = before.rfind(": ");
      library = colon == std::string::npos ? before : before.substr(colon + 2);
    }
    if (IContains(l->text, "undefined symbol")) abi = true;
  }
  auto unquote = [](std::string s) {
    if (s.size() >= 2 && (s.front() == '\'' || s.front() == '"'))
      s = s.substr(1, s.size() - 2);
    return s;
  };
  module = unquote(module);
  const std::string setup =
      "activate the environment in the profile's setup lines (shell.setup, "
      "e.g. \"source "
      "~/venvs/train/bin/activate\", \"conda activate train\" or \"module load "
      "...\")";
  Diagnosis d;
  if (!module.empty()) {
    std::string top = module.substr(0, module.find('.'));
    d = Make("import_error", "Python could not import module '" + module + "'",
             "The Python the job ran does not have '" + top + "': " + setup +
                 ", or install it into that environment (pip install " +
                 PipName(top) +
                 "). Check with a short smoke job running python -c 'import " +
                 top + "' with the same setup.");
  } else if (!name_from.empty()) {
    d = Make("import_error", "Python could not import " + name_from,
             "The installed package is a different version than the code "
             "expects (the name "
             "moved or was added in another release): pin the versions the "
             "code was written "
             "for (requirements.txt) in the job's environment, or " +
                 setup + " if the job ran the wrong one.");
  } else if (!library.empty()) {
    d = Make("import_error", "A shared library could not be loaded: " + library,
             "Load the module that provides " + library +
                 " in the profile's setup lines (e.g. \"module load "
                 "cuda/12.1\" for libcudart or "
                 "libcublas), or install a PyTorch/extension build that "
                 "matches the cluster's "
                 "CUDA; check with a smoke job.");
  } else if (abi) {
    d = Make("import_error",
             "A compiled extension does not match the installed libraries "
             "(undefined symbol)",
             "Reinstall or rebuild the extension against the installed "
             "PyTorch/CUDA (e.g. pip "
             "install --no-build-isolation --force-reinstall <package>), or " +
                 setup + ".");
  } else {
    d = Make("import_error", "A Python import failed",
             "Make the job's environment match the code: " + setup +
                 ", and install the missing or mismatched package; check with "
                 "a smoke job.");
  }
  AddEvidence(d, lines);
  // The usual root cause: the setup line that activates the environment
  // points at one that does not exist on the cluster.
  for (const Line& l : c.logs.lines) {
    if (!IContains(l.text, "activate") ||
        !IContains(l.text, "No such file or directory"))
      continue;
    std::string before =
        l.text.substr(0, l.text.find(": No such file or directory"));
    size_t colon = before.rfind(": ");
    std::string path =
        colon == std::string::npos ? before : before.substr(colon + 2);
    d.remediation += " The setup line that should activate it failed: " + path +
                     " does not exist on the cluster; create the environment "
                     "there or fix the "
                     "path in shell.setup.";
    AddEvidence(d, l.text);
    break;
  }
  return d;
}

// The path a "not found" / "denied" line names.
std::string PathIn(std::string_view text, std::string_view marker) {
  size_t at = text.find(marker);
  if (at != std::string_view::npos) {
    std::string_view after = text.substr(at + marker.size());
    if (after.starts_with(": ")) {
      std::string q = FirstQuoted(after);
      if (!q.empty()) return q;
    }
    // "bash: line 5: /x/activate: No such file or directory".
    std::string_view before = Trim(text.substr(0, at));
    if (before.ends_with(":")) before.remove_suffix(1);
    size_t colon = before.rfind(": ");
    std::string_view path =
        colon == std::string_view::npos ? before : before.substr(colon + 2);
    if (!path.empty() && path.find(' ') == std::string_view::npos &&
        path.find('/') != std::string_view::npos)
      return std::string(path);
  }
  return FirstQuoted(text);
}

std::optional<Diagnosis> FileNotFound(const Ctx& c) {
  auto lines = Find(
      c.logs,
      {"FileNotFoundError", "No such file or directory", "can't open file"},
      /*noise_prone=*/true);
  if (lines.empty()) return std::nullopt;
  std::string path;
  for (const Line* l : lines) {
    path = After(l->text, "can't open file ",
                 {": "});  // python: can't open file 'x': ...
    if (path.empty()) path = PathIn(l->text, "No such file or directory");
    if (!path.empty()) break;
  }
  if (path.size() >= 2 && (path.front() == '\'' || path.front() == '"'))
    path = path.substr(1, path.size() - 2);
  std::string summary = path.empty()
                            ? "A file the job needs does not exist"
                            : "A file the job needs does not exist: " + path;
  std::string fix;
  if (path.ends_with("/activate") || path.ends_with("/bin/activate"))
    fix =
        "The environment the profile's setup lines activate does not exist on "
        "the cluster: "
        "create it there, or fix shell.setup to the right path.";
  else
    fix = "The path " +
          (path.empty() ? std::string("named above") : "'" + path + "'") +
          " does not exist where the job ran: relative paths start at the "
          "job's working "
          "directory on the cluster, not on this machine. Upload or sync the "
          "file, or fix the "
          "path in the command or config, and check that it exists (ls) before "
          "resubmitting.";
  Diagnosis d = Make("file_not_found", summary, fix);
  AddEvidence(d, lines);
  return d;
}

std::optional<Diagnosis> PermissionDenied(const Ctx& c) {
  auto lines =
      Find(c.logs,
           {"PermissionError", "Permission denied", "Read-only file system",
            "Operation not permitted", "EACCES"},
           /*noise_prone=*/true);
  if (lines.empty()) return std::nullopt;
  std::string path;
  for (const Line* l : lines) {
    for (std::string_view m : {"Permission denied", "Read-only file system",
                               "Operation not permitted"}) {
      if (path.empty() && IContains(l->text, m)) path = PathIn(l->text, m);
    }
    if (!path.empty()) break;
  }
  Diagnosis d =
      Make("permission_denied",
           path.empty() ? "The job was denied access to a file or directory"
                        : "The job was denied access to " + path,
           "The job may not write (or execute) " +
               (path.empty() ? std::string("that path") : "'" + path + "'") +
               ": write outputs and caches under the profile's work_root or "
               "another directory you "
               "own (check with ls -ld), point HF_HOME / TRITON_CACHE_DIR / "
               "TMPDIR there if a cache "
               "is the culprit; a read-only filesystem (a shared dataset, a "
               "container image) cannot "
               "be written at all; a script needs chmod +x or to be run as "
               "bash script.sh.");
  AddEvidence(d, lines);
  return d;
}

std::optional<Diagnosis> DiskFull(const Ctx& c) {
  auto lines = Find(c.logs, {"No space left on device", "Disk quota exceeded",
                             "quota exceeded", "ENOSPC", "EDQUOT", "[Errno 28]",
                             "[Errno 122]"});
  if (lines.empty()) return std::nullopt;
  bool shm = false, quota = false;
  for (const Line* l : lines) {
    if (IContains(l->text, "/dev/shm") || IContains(l->text, "shared memory"))
      shm = true;
    if (IContains(l->text, "quota") || IContains(l->text, "EDQUOT") ||
        IContains(l->text, "Errno 122"))
      quota = true;
  }
  std::string fix =
      "Free space where the job writes (delete old checkpoints, or keep only "
      "the newest few: HF "
      "save_total_limit, Lightning save_top_k) or write to a filesystem with "
      "room (scratch); "
      "check with df -h and your quota (quota -s, lfs quota -u $USER <fs>).";
  if (shm)
    fix +=
        " It is shared memory (/dev/shm) that filled: use fewer DataLoader "
        "workers or ask "
        "for more shared memory.";
  if (!c.in.newest_checkpoint.empty())
    fix += " Then resume from " + c.in.newest_checkpoint +
           " if it was written completely (a checkpoint cut short by a full "
           "disk is corrupt; "
           "use the one before).";
  Diagnosis d = Make("disk_full",
                     quota ? "The job exceeded its disk quota"
                           : "The disk the job writes to is full",
                     fix);
  AddEvidence(d, lines);
  return d;
}

std::optional<Diagnosis> Segfault(const Ctx& c) {
  const cluster::JobStatus& s = c.in.status;
  auto lines = Find(c.logs, {"Segmentation fault", "SIGSEGV", "core dumped",
                             "Bus error", "SIGBUS", "signal 11"});
  bool by_signal = s.signal == 11 || s.exit_code == 139;
  if (lines.empty() && !by_signal) return std::nullopt;
  Diagnosis d = Make(
      "segfault", "A native crash (segmentation fault), not a Python exception",
      "Get the Python stack: run a short smoke job with PYTHONFAULTHANDLER=1 "
      "(or python -X "
      "faulthandler). Common causes: a compiled extension built for another "
      "PyTorch/CUDA "
      "(reinstall it against the installed one), DataLoader workers crashing "
      "(try "
      "num_workers=0), or a bad node." +
          ExcludeHint(c) + ResumeHint(c));
  AddEvidence(d, lines);
  if (by_signal) AddEvidence(d, SchedulerLine(c));
  return d;
}

std::optional<Diagnosis> MissingLogDir(const Ctx& c) {
  if (!c.in.log_dir_missing) return std::nullopt;
  Diagnosis d = Make("missing_log_dir",
                     "The job's log directory did not exist, so the scheduler "
                     "could not open its output "
                     "files and the job died without any output",
                     "The log directory must exist before submit (Slurm and "
                     "Grid Engine do not create it). "
                     "hpc-mcp's submit creates it, so this comes from a job "
                     "submitted another way or with a "
                     "log path outside the run directory: create the directory "
                     "(mkdir -p) and resubmit.");
  AddEvidence(d, SchedulerLine(c));
  return d;
}

// How much time the rest of the run needs, from the last progress seen:
// "at step 4500 of 10000 after 4.0 h".
std::optional<int64_t> EstimateRemaining(const Ctx& c, std::string* how) {
  if (!c.elapsed || *c.elapsed <= 0) return std::nullopt;
  MetricPoint latest = Latest(c.metrics);
  auto total = latest.other.find("total");
  if (!latest.step || total == latest.other.end()) return std::nullopt;
  // A whole epoch number with a step and total is Lightning's bar, which
  // counts the batches of one epoch: no estimate of the whole run there.
  if (latest.epoch && *latest.epoch == std::floor(*latest.epoch))
    return std::nullopt;
  double step = *latest.step, steps = total->second;
  if (!(step > 0) || !(steps > step)) return std::nullopt;
  double remaining = *c.elapsed * (steps - step) / step;
  *how = "at step " + FormatNumber(step) + " of " + FormatNumber(steps) + " after " +
         HumanDuration(*c.elapsed) + ", the rest needs about " +
         HumanDuration(static_cast<int64_t>(remaining));
  return static_cast<int64_t>(remaining);
}

std::optional<Diagnosis> Timeout(const Ctx& c) {
  auto lines = Find(c.logs, {"DUE TO TIME LIMIT"});
  for (const Line& l :
       c.logs.lines)  // Grid Engine: "... exceeds job hard limit "h_rt" ...".
    if (IContains(l.text, "h_rt") && IContains(l.text, "exceed"))
      lines.push_back(&l);
  if (c.in.status.state != JobState::kTimeout && lines.empty())
    return std::nullopt;
  std::optional<int64_t> limit = ParseTimeLimit(c.in.time_limit);
  std::string how;
  std::optional<int64_t> remaining = EstimateRemaining(c, &how);
  bool resume = !c.in.newest_checkpoint.empty();
  std::string suggestion;
  if (remaining) {
    // Time for the rest (from a checkpoint a little behind the last step)
    // or, without one, for the whole run; with a margin.
    double need =
        resume ? *remaining * 1.25 + 900 : (*remaining + *c.elapsed) * 1.25;
    int64_t t = RoundUpToQuarterHour(need);
    if (!resume && limit) t = std::max(t, RoundUpToQuarterHour(*limit * 1.5));
    suggestion = SlurmTime(t);
  } else if (limit) {
    suggestion = SlurmTime(RoundUpToQuarterHour(*limit * 1.5));
  }
  std::string time_text =
      suggestion.empty()
          ? "a longer time limit than before"
          : "a time limit of " + suggestion +
                (c.in.time_limit.empty() ? ""
                                         : " (it was " + c.in.time_limit + ")");
  std::string fix;
  if (resume)
    fix = "Resume from " + c.in.newest_checkpoint +
          " (HF Trainer: resume_from_checkpoint; Lightning: ckpt_path) with " +
          time_text + ".";
  else
    fix = "No checkpoint was found, so the run starts over: resubmit with " +
          time_text +
          " and save checkpoints periodically (HF save_steps, Lightning "
          "every_n_train_steps) so "
          "that a time limit costs little.";
  if (!how.empty()) fix += " Progress: " + how + ".";
  fix +=
      " Stay within the profile's limits.max_walltime; a run longer than that "
      "needs a chain "
      "of jobs that each resume from the newest checkpoint.";
  std::string summary =
      "The job reached its time limit" +
      (c.in.time_limit.empty() ? std::string() : " of " + c.in.time_limit) +
      " and was killed";
  Diagnosis d = Make("timeout", summary, fix);
  AddEvidence(d, lines);
  AddEvidence(d, SchedulerLine(c));
  return d;
}

std::optional<Diagnosis> NodeFail(const Ctx& c) {
  auto lines = Find(c.logs, {"DUE TO NODE FAILURE", "NODE_FAIL"});
  if (c.in.status.state != JobState::kNodeFail && lines.empty())
    return std::nullopt;
  std::string on =
      c.in.status.nodes.empty() ? "" : " (" + c.in.status.nodes + ")";
  Diagnosis d =
      Make("node_fail", "The node the job ran on failed" + on,
           "Nothing in the job is at fault: resubmit it as is" +
               (c.in.newest_checkpoint.empty()
                    ? std::string(".")
                    : ", resuming from " + c.in.newest_checkpoint + ".") +
               ExcludeHint(c),
           /*retryable=*/true);
  AddEvidence(d, lines);
  AddEvidence(d, SchedulerLine(c));
  return d;
}

std::optional<Diagnosis> Preempted(const Ctx& c) {
  auto lines = Find(c.logs, {"DUE TO PREEMPTION", "PREEMPTED"});
  if (c.in.status.state != JobState::kPreempted && lines.empty())
    return std::nullopt;
  Diagnosis d =
      Make("preempted", "A higher-priority job evicted this one (preemption)",
           "Nothing in the job is at fault: resubmit it" +
               (c.in.newest_checkpoint.empty()
                    ? std::string()
                    : ", resuming from " + c.in.newest_checkpoint) +
               ". To avoid it, use a partition or QoS that is not preemptible; "
               "otherwise checkpoint "
               "often and let Slurm requeue the job (--requeue), resuming from "
               "the newest checkpoint.",
           /*retryable=*/true);
  AddEvidence(d, lines);
  AddEvidence(d, SchedulerLine(c));
  return d;
}

std::optional<Diagnosis> CancelledRule(const Ctx& c) {
  const cluster::JobStatus& s = c.in.status;
  auto lines = Find(c.logs, {"CANCELLED AT"});
  if (s.state != JobState::kCancelled && lines.empty()) return std::nullopt;
  if (IContains(s.reason, "DependencyNeverSatisfied")) {
    Diagnosis d = Make(
        "cancelled",
        "The scheduler cancelled the job because a job it depends on did not "
        "complete successfully",
        "Diagnose the job it depends on first; once that one succeeds, submit "
        "this one again with the dependency on the new job.");
    AddEvidence(d, SchedulerLine(c));
    return d;
  }
  std::string uid = After(s.native_state, "by ", {" ", "+"});
  std::string by;
  if (uid == "0")
    by = " by uid 0 (root: an administrator or the scheduler itself)";
  else if (!uid.empty())
    by = " by uid " + uid;
  std::string who =
      uid.empty() ? "" : " (getent passwd " + uid + " names the account)";
  Diagnosis d = Make("cancelled", "The job was cancelled" + by,
                     "Someone cancelled it on purpose" + who +
                         ": if that was you or this agent, there is nothing to "
                         "fix; otherwise find out why "
                         "before resubmitting (an administrator may have "
                         "stopped it for a reason)." +
                         ResumeHint(c));
  AddEvidence(d, SchedulerLine(c));
  AddEvidence(d, lines);
  return d;
}

std::optional<Diagnosis> QuickDeath(const Ctx& c) {
  const cluster::JobStatus& s = c.in.status;
  bool signal53 = s.signal == 53;
  bool ended_badly =
      s.state == JobState::kFailed || s.state == JobState::kUnknown;
  bool quick = ended_badly && c.elapsed && *c.elapsed <= kQuickDeathSeconds;
  if (!signal53 && !quick) return std::nullopt;
  if (!signal53 && FinalException(c.logs))
    return std::nullopt;  // That names the cause.
  bool no_output = c.in.stdout_missing || c.logs.lines.empty();
  std::string how = c.elapsed ? " within " + HumanDuration(*c.elapsed) : "";
  std::string summary = signal53
                            ? "The job could not be launched (signal 53)" +
                                  std::string(no_output ? ", no output" : "")
                            : "The job died" + how +
                                  (no_output ? " without any output" : "") +
                                  ", before the training code said why";
  std::string fix =
      "Run a one-minute smoke job with the same profile and setup lines (e.g. "
      "python -c 'import "
      "torch; print(torch.cuda.is_available())') to see whether the "
      "environment starts, and "
      "check that the script, its working directory and log directory exist on "
      "the cluster.";
  if (!s.nodes.empty())
    fix += " It ran on " + s.nodes +
           ": a node with a broken mount or driver kills jobs this way; "
           "resubmit excluding it (Slurm --exclude=" +
           s.nodes + ", Grid Engine -l h='!" + s.nodes + "').";
  Diagnosis d = Make("quick_death", summary, fix, /*retryable=*/true);
  AddEvidence(d, SchedulerLine(c));
  if (c.in.stdout_missing)
    AddEvidence(d, "stdout: the log file does not exist");
  for (size_t i = c.logs.lines.size() > 3 ? c.logs.lines.size() - 3 : 0;
       i < c.logs.lines.size(); ++i)
    AddEvidence(d, c.logs.lines[i].text);
  return d;
}

Diagnosis Unknown(const Ctx& c) {
  const cluster::JobStatus& s = c.in.status;
  const Line* final = FinalException(c.logs);
  std::string ended =
      "The job ended " + std::string(cluster::JobStateName(s.state));
  if (s.exit_code) ended += " with exit code " + std::to_string(*s.exit_code);
  if (s.signal)
    ended +=
        (s.exit_code ? ", signal " : " by signal ") + std::to_string(*s.signal);
  std::string summary;
  std::string fix;
  if (final) {
    std::string type = final->text.substr(0, final->text.find(':'));
    summary = ended + "; the program raised " + type;
    fix =
        "The final exception (first evidence line) names the failing code: fix "
        "the cause it "
        "states, check the fix with a short smoke job, then resubmit" +
        std::string(c.in.newest_checkpoint.empty()
                        ? "."
                        : ", resuming from " + c.in.newest_checkpoint + ".");
  } else {
    summary = ended + " and the logs name no known cause";
    fix =
        "Read more of the job's stderr and stdout than the evidence shows "
        "(look for the first "
        "error, not the last), then fix it and run a short smoke job before "
        "resubmitting.";
  }
  Diagnosis d = Make("unknown", summary, fix);
  if (final) AddEvidence(d, final->text);
  // The last lines of stderr, else of stdout.
  size_t begin = 0, end = c.logs.stderr_count;
  if (end == 0) end = c.logs.lines.size();
  if (end - begin > kMaxEvidence) begin = end - kMaxEvidence;
  for (size_t i = begin; i < end && d.evidence.size() < kMaxEvidence; ++i)
    AddEvidence(d, c.logs.lines[i].text);
  if (d.evidence.empty()) AddEvidence(d, SchedulerLine(c));
  return d;
}

}  // namespace

Diagnosis Diagnose(const DiagnosisInput& input) {
  Ctx c{input, Prepare(input), input.metrics, input.elapsed_seconds};
  if (c.metrics.empty()) {
    c.metrics = ExtractMetrics(input.stdout_tail);
    auto err = ExtractMetrics(input.stderr_tail);
    c.metrics.insert(c.metrics.end(), err.begin(), err.end());
  }
  const cluster::JobStatus& s = input.status;
  if (!c.elapsed && s.start_time && s.end_time && *s.end_time >= *s.start_time)
    c.elapsed = *s.end_time - *s.start_time;

  if (s.state == JobState::kCompleted) {
    if (auto d = NanLoss(c)) return *d;
    Diagnosis d = Make(
        "none",
        "The job completed" +
            std::string(s.exit_code
                            ? " with exit code " + std::to_string(*s.exit_code)
                            : ""),
        "Nothing to fix.");
    return d;
  }

  using Rule = std::function<std::optional<Diagnosis>(const Ctx&)>;
  // Causes the log proves. `consequence`: what a job killed by the
  // scheduler prints while dying, which must not override TIMEOUT/CANCELLED.
  struct TextRule {
    Rule rule;
    bool consequence;
  };
  const TextRule text_rules[] = {
      {GpuOom, false},           {HostOom, false},     {NanLoss, false},
      {NcclError, true},         {ImportError, false}, {FileNotFound, false},
      {PermissionDenied, false}, {DiskFull, false},    {Segfault, true},
  };
  const bool evicted =
      s.state == JobState::kNodeFail || s.state == JobState::kPreempted;
  const bool killed =
      s.state == JobState::kTimeout || s.state == JobState::kCancelled;
  std::optional<Diagnosis> suppressed;
  for (const TextRule& r : text_rules) {
    auto d = r.rule(c);
    if (!d) continue;
    if (evicted || (killed && r.consequence)) {
      if (!suppressed) suppressed = std::move(d);
      continue;
    }
    return *d;
  }

  for (const Rule& rule :
       {Rule(MissingLogDir), Rule(Timeout), Rule(NodeFail), Rule(Preempted),
        Rule(CancelledRule), Rule(QuickDeath)}) {
    auto d = rule(c);
    if (!d) continue;
    if (suppressed && !suppressed->evidence.empty()) {
      // Keep a trace of what the dying job printed, without letting it decide.
      if (d->evidence.size() >= kMaxEvidence) d->evidence.pop_back();
      AddEvidence(*d, suppressed->evidence.front());
      d->summary += " (the log also shows " + suppressed->category +
                    " lines, most likely a consequence)";
    }
    return *d;
  }
  return Unknown(c);
}

nlohmann::json ToJson(const Diagnosis& d) {
  return {{"category", d.category},
          {"summary", d.summary},
          {"evidence", d.evidence},
          {"remediation", d.remediation},
          {"retryable", d.retryable}};
}

}  // namespace hpc::runs
