#include "tools/runs/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <string>

// Why a hand-written scanner and not std::regex: ExtractMetrics runs over up
// to megabytes of log on every poll, and libstdc++'s std::regex costs
// microseconds per line and pattern (backtracking, locale-aware). One
// left-to-right pass per line, looking only at word boundaries, keeps a
// 1 MB log in a few milliseconds.
//
// Three shapes are recognized, tried in this order on each line:
//   1. a dict: JSON or a Python repr (single quotes, nan, inf, None,
//      tensor(..)/np.float64(..) wrappers), nested objects flattened with
//      "/" ({"train": {"loss": 1}} -> "train/loss");
//   2. a tqdm bar (also Lightning's, which is tqdm with "Epoch N" as its
//      description), recognized by "n/total [elapsed<remaining, rate" or
//      "n<unit> [elapsed, rate";
//   3. key/value pairs: "key=value", "key: value" (any key, unknown ones go
//      to `other`) and "key value" (known keys only: "step 120/1000 | loss
//      2.31"). A line of "key value" pairs needs two of them, or one beside
//      a key=value / key: value pair, so that "Saving at epoch 3" is not a
//      metric line.
// A value must end at a separator: "10.0.0.1", "2.1.0", "12:30:01",
// "epoch=3-step=500.ckpt" and "/data/step_100" are never read as numbers.

namespace hpc::runs {
namespace {

constexpr size_t kMaxOther = 16;
constexpr int kMaxDictDepth = 8;

enum class Field {
  kStep,
  kEpoch,
  kLoss,
  kValLoss,
  kLr,
  kGradNorm,
  kThroughput,
  kOther,
  kIgnore,
};

struct Canon {
  Field field = Field::kOther;
  std::string_view unit;  // For kThroughput; "s/it" is inverted on Put.
};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool IsAlnum(char c) { return IsDigit(c) || IsAlpha(c); }
bool IsSpace(char c) { return c == ' ' || c == '\t'; }
char Lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
}

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (Lower(a[i]) != Lower(b[i])) return false;
  return true;
}

bool IStartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() &&
         IEquals(s.substr(0, prefix.size()), prefix);
}

bool IContains(std::string_view s, std::string_view needle) {
  if (needle.size() > s.size()) return false;
  for (size_t i = 0; i + needle.size() <= s.size(); ++i)
    if (IEquals(s.substr(i, needle.size()), needle)) return true;
  return false;
}

std::string_view Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (IsSpace(s[b]) || s[b] == '\r' || s[b] == '\n')) ++b;
  while (e > b && (IsSpace(s[e - 1]) || s[e - 1] == '\r' || s[e - 1] == '\n'))
    --e;
  return s.substr(b, e - b);
}

bool StripPrefix(std::string_view& s, std::string_view prefix) {
  if (!s.starts_with(prefix)) return false;
  s.remove_prefix(prefix.size());
  return true;
}

bool StripSuffix(std::string_view& s, std::string_view suffix) {
  if (!s.ends_with(suffix)) return false;
  s.remove_suffix(suffix.size());
  return true;
}

// The unit of a rate named like the unit itself ("tokens/s"), or "".
std::string_view RateUnit(std::string_view k) {
  if (k == "it/s" || k == "its/s") return "it/s";
  if (k == "s/it") return "s/it";
  if (k == "samples/s" || k == "sample/s" || k == "samples/sec" ||
      k == "samples_per_second" || k == "samples_per_sec")
    return "samples/s";
  if (k == "tokens/s" || k == "tok/s" || k == "tokens/sec" || k == "tok/sec" ||
      k == "tokens_per_second" || k == "tokens_per_sec" || k == "toks/s")
    return "tokens/s";
  return "";
}

// Maps a key as printed to the field it reports. Train/eval context comes
// from a prefix ("train/", "eval_") or a TensorBoard-style suffix
// ("Loss/val"); an eval-only rate or lr is not the run's and goes to other.
Canon Canonicalize(std::string_view raw) {
  if (raw.empty() || raw.size() > 64) return {Field::kOther, ""};
  char buf[64];
  for (size_t i = 0; i < raw.size(); ++i)
    buf[i] = raw[i] == '-' ? '_' : Lower(raw[i]);
  std::string_view k(buf, raw.size());
  if (k == "v_num") return {Field::kIgnore, ""};  // Lightning's logger version.
  // A source location ("trainer.py:2134"), not a metric.
  for (std::string_view ext : {".py", ".cc", ".cpp", ".c", ".h", ".rs"})
    if (k.ends_with(ext)) return {Field::kIgnore, ""};
  if (k.starts_with("lr_") && IStartsWith(raw, "lr-")) return {Field::kLr, ""};
  if (auto unit = RateUnit(k); !unit.empty()) return {Field::kThroughput, unit};

  bool eval = false;
  for (std::string_view p :
       {"train/", "training/", "trainer/", "train_", "training_"})
    if (StripPrefix(k, p)) break;
  for (std::string_view p : {"eval/", "eval_", "val/", "val_", "valid/",
                             "valid_", "validation/", "validation_"}) {
    if (StripPrefix(k, p)) {
      eval = true;
      break;
    }
  }
  if (k.starts_with("test/") || k.starts_with("test_"))
    return {Field::kOther, ""};
  StripSuffix(k, "/train");
  for (std::string_view s : {"/val", "/valid", "/validation", "/eval"}) {
    if (StripSuffix(k, s)) {
      eval = true;
      break;
    }
  }

  if (k == "loss_step" || k == "loss_epoch")
    k = "loss";  // Lightning's on_step/on_epoch.
  if (k == "loss" || k == "avg_loss" || k == "mean_loss" ||
      k == "running_loss" || k == "total_loss")
    return {eval ? Field::kValLoss : Field::kLoss, ""};
  if (k == "epoch") return {Field::kEpoch, ""};
  if (eval) return {Field::kOther, ""};
  if (k == "step" || k == "global_step" || k == "iter" || k == "iteration")
    return {Field::kStep, ""};
  if (k == "lr" || k == "learning_rate") return {Field::kLr, ""};
  if (k == "grad_norm" || k == "gradient_norm" || k == "gnorm" ||
      k == "grad_norm_total" || k == "total_grad_norm" ||
      k == "grad_2.0_norm_total")
    return {Field::kGradNorm, ""};
  if (k == "throughput") return {Field::kThroughput, ""};
  if (auto unit = RateUnit(k); !unit.empty()) return {Field::kThroughput, unit};
  return {Field::kOther, ""};
}

bool IsNamed(Field f) { return f != Field::kOther && f != Field::kIgnore; }

// Records `v` under `key`; returns whether it set a named field.
bool Put(MetricPoint& p, std::string_view key, const Canon& c, double v,
         std::string_view unit_hint = "") {
  switch (c.field) {
    case Field::kStep:
      p.step = v;
      return true;
    case Field::kEpoch:
      p.epoch = v;
      return true;
    case Field::kLoss:
      p.loss = v;
      return true;
    case Field::kValLoss:
      p.val_loss = v;
      return true;
    case Field::kLr:
      p.lr = v;
      return true;
    case Field::kGradNorm:
      p.grad_norm = v;
      return true;
    case Field::kThroughput: {
      std::string_view unit = c.unit.empty() ? unit_hint : c.unit;
      if (unit == "s/it") {
        if (!(v > 0)) return false;
        v = 1.0 / v;
        unit = "it/s";
      }
      p.throughput = v;
      p.throughput_unit = std::string(unit);
      return true;
    }
    case Field::kOther: {
      std::string k(key);
      if (p.other.size() < kMaxOther || p.other.count(k)) p.other[k] = v;
      return false;
    }
    case Field::kIgnore:
      return false;
  }
  return false;
}

// A number at s[i]: optional sign, digits with an optional fraction and
// exponent, or nan / inf / infinity in any case ("-inf", "NaN"). Sets *end
// past it. Letters right after nan/inf ("info", "nano") make it no number.
std::optional<double> ParseNumber(std::string_view s, size_t i, size_t* end) {
  const size_t n = s.size();
  size_t j = i;
  bool neg = false;
  if (j < n && (s[j] == '+' || s[j] == '-')) neg = s[j++] == '-';
  if (j < n && (s[j] == 'n' || s[j] == 'N' || s[j] == 'i' || s[j] == 'I')) {
    size_t k;
    double v;
    std::string_view rest = s.substr(j);
    if (IStartsWith(rest, "nan")) {
      k = j + 3;
      v = std::numeric_limits<double>::quiet_NaN();
    } else if (IStartsWith(rest, "infinity")) {
      k = j + 8;
      v = std::numeric_limits<double>::infinity();
    } else if (IStartsWith(rest, "inf")) {
      k = j + 3;
      v = std::numeric_limits<double>::infinity();
    } else {
      return std::nullopt;
    }
    if (k < n && (IsAlnum(s[k]) || s[k] == '_')) return std::nullopt;
    *end = k;
    return neg && !std::isnan(v) ? -v : v;
  }
  size_t digits_begin = j;
  while (j < n && IsDigit(s[j])) ++j;
  size_t int_digits = j - digits_begin;
  size_t frac_digits = 0;
  if (j + 1 < n && s[j] == '.' && IsDigit(s[j + 1])) {
    ++j;
    size_t f = j;
    while (j < n && IsDigit(s[j])) ++j;
    frac_digits = j - f;
  }
  if (int_digits + frac_digits == 0) return std::nullopt;
  if (j < n && (s[j] == 'e' || s[j] == 'E')) {
    size_t k = j + 1;
    if (k < n && (s[k] == '+' || s[k] == '-')) ++k;
    if (k < n && IsDigit(s[k])) {
      while (k < n && IsDigit(s[k])) ++k;
      j = k;
    }
  }
  double v = 0;
  const char* first = s.data() + i + (s[i] == '+' ? 1 : 0);
  auto r = std::from_chars(first, s.data() + j, v);
  if (r.ec != std::errc() && r.ec != std::errc::result_out_of_range)
    return std::nullopt;
  *end = j;
  return v;
}

// ---------------------------------------------------------------------------
// Shape 1: JSON and Python dict lines.

class DictParser {
 public:
  DictParser(std::string_view s, MetricPoint* p) : s_(s), p_(p) {}

  // Parses the object starting at s[pos] == '{'; false on anything that is
  // not a well-formed dict (the line is then tried as pairs).
  bool Parse(size_t pos) {
    pos_ = pos;
    std::string prefix;
    return Object(prefix, 0);
  }
  int named() const { return named_; }

 private:
  void Ws() {
    while (pos_ < s_.size() && (IsSpace(s_[pos_]) || s_[pos_] == '\n')) ++pos_;
  }
  bool At(char c) const { return pos_ < s_.size() && s_[pos_] == c; }

  bool String(std::string* out) {
    if (!At('\'') && !At('"')) return false;
    char q = s_[pos_++];
    while (pos_ < s_.size() && s_[pos_] != q) {
      if (s_[pos_] == '\\' && pos_ + 1 < s_.size()) ++pos_;
      if (out) out->push_back(s_[pos_]);
      ++pos_;
    }
    if (!At(q)) return false;
    ++pos_;
    return true;
  }

  bool Object(const std::string& prefix, int depth) {
    if (depth > kMaxDictDepth || !At('{')) return false;
    ++pos_;
    Ws();
    if (At('}')) {
      ++pos_;
      return true;
    }
    while (true) {
      Ws();
      std::string key;
      if (!String(&key)) return false;
      Ws();
      if (!At(':')) return false;
      ++pos_;
      Ws();
      if (!Value(prefix.empty() ? key : prefix + "/" + key, depth))
        return false;
      Ws();
      if (At(',')) {
        ++pos_;
        continue;
      }
      if (At('}')) {
        ++pos_;
        return true;
      }
      return false;
    }
  }

  void Record(const std::string& key, double v) {
    if (in_list_ > 0) return;  // [{"loss": 1}, ...]: not this line's metrics.
    if (Put(*p_, key, Canonicalize(key), v)) ++named_;
  }

  // Skips a list, recording its first element when that is a number (the
  // per-group learning rates some loggers print: "lr": [0.0001]).
  bool List(const std::string& key, int depth) {
    if (depth > kMaxDictDepth) return false;
    ++pos_;  // '['
    bool first = true;
    while (true) {
      Ws();
      if (At(']')) {
        ++pos_;
        return true;
      }
      size_t end;
      if (first && pos_ < s_.size()) {
        if (auto v = ParseNumber(s_, pos_, &end)) {
          Record(key, *v);
          pos_ = end;
          first = false;
          Ws();
          if (At(',')) ++pos_;
          continue;
        }
      }
      first = false;
      ++in_list_;
      bool ok = Value("", depth + 1);
      --in_list_;
      if (!ok) return false;
      Ws();
      if (At(','))
        ++pos_;
      else if (!At(']'))
        return false;
    }
  }

  // A value; numbers are recorded under `key` unless it is empty.
  bool Value(const std::string& key, int depth) {
    if (pos_ >= s_.size()) return false;
    char c = s_[pos_];
    if (c == '{') return Object(key, depth + 1);
    if (c == '[' || c == '(') {
      if (c == '(') {  // A Python tuple: skip like a list.
        ++pos_;
        int level = 1;
        while (pos_ < s_.size() && level > 0) {
          if (s_[pos_] == '\'' || s_[pos_] == '"') {
            if (!String(nullptr)) return false;
            continue;
          }
          if (s_[pos_] == '(') ++level;
          if (s_[pos_] == ')') --level;
          ++pos_;
        }
        return level == 0;
      }
      return List(key, depth);
    }
    if (c == '\'' || c == '"') {
      std::string text;
      if (!String(&text)) return false;
      // Some loggers quote non-finite numbers: {"loss": "NaN"}.
      size_t end;
      std::string_view t = Trim(text);
      if (!key.empty() && !t.empty())
        if (auto v = ParseNumber(t, 0, &end); v && end == t.size())
          Record(key, *v);
      return true;
    }
    size_t end;
    if (auto v = ParseNumber(s_, pos_, &end)) {
      if (!key.empty()) Record(key, *v);
      pos_ = end;
      return true;
    }
    // true/false/null/None or a call: tensor(2.3, device='cuda:0'),
    // np.float64(0.85).
    size_t b = pos_;
    while (pos_ < s_.size() &&
           (IsAlnum(s_[pos_]) || s_[pos_] == '_' || s_[pos_] == '.'))
      ++pos_;
    if (pos_ == b) return false;
    if (!At('(')) return true;
    ++pos_;
    Ws();
    if (auto v = ParseNumber(s_, pos_, &end)) {
      if (!key.empty()) Record(key, *v);
      pos_ = end;
    }
    int level = 1;
    while (pos_ < s_.size() && level > 0) {
      if (s_[pos_] == '\'' || s_[pos_] == '"') {
        if (!String(nullptr)) return false;
        continue;
      }
      if (s_[pos_] == '(') ++level;
      if (s_[pos_] == ')') --level;
      ++pos_;
    }
    return level == 0;
  }

  std::string_view s_;
  MetricPoint* p_;
  size_t pos_ = 0;
  int named_ = 0;
  int in_list_ = 0;
};

// ---------------------------------------------------------------------------
// Shape 3: key/value pairs (also used for a tqdm bar's postfix).

struct PairCount {
  int named_strong = 0;  // key=value / key: value with a known key.
  int named_weak = 0;    // "key value" with a known key, or "6.4 it/s".
  int other_strong = 0;  // key=value / "key: value" (a space after the
                         // colon) with another key.
};

bool IsKeyStart(char c) { return IsAlpha(c) || c == '_'; }
bool IsKeyChar(char c) {
  return IsAlnum(c) || c == '_' || c == '/' || c == '.' || c == '-';
}
// What may precede a key or a free-standing number.
bool IsBoundary(char c) {
  return IsSpace(c) || c == ',' || c == '|' || c == ';' || c == '(' ||
         c == '[' || c == ']' || c == '{' || c == '\'' || c == '"' ||
         c == ':';  // "INFO:__main__:step=5"
}
// What may follow a value.
bool EndsValue(std::string_view s, size_t e) {
  if (e >= s.size()) return true;
  char c = s[e];
  if (IsSpace(c) || c == ',' || c == '|' || c == ';' || c == ')' || c == ']' ||
      c == '}' || c == '\'' || c == '"')
    return true;
  // "Epoch 3: ..." and "step 5: ...", but not "12:30".
  return c == ':' && (e + 1 == s.size() || IsSpace(s[e + 1]));
}

size_t ScanKey(std::string_view s, size_t i) {
  while (i < s.size() && IsKeyChar(s[i])) ++i;
  // A key does not end in punctuation: "loss." ends a sentence.
  while (i > 0 && (s[i - 1] == '.' || s[i - 1] == '-' || s[i - 1] == '/')) --i;
  return i;
}

// Whether a number (or nan / inf) may start `s`: the cheap test before a
// "key value" pair is looked at.
bool MayStartNumber(std::string_view s) {
  if (s.empty()) return false;
  char c = s[0];
  if (IsDigit(c)) return true;
  if ((c == '-' || c == '+' || c == '.') && s.size() > 1)
    return IsDigit(s[1]) || MayStartNumber(s.substr(1));
  return IStartsWith(s, "nan") || IStartsWith(s, "inf");
}

size_t SkipSpaces(std::string_view s, size_t i) {
  while (i < s.size() && IsSpace(s[i])) ++i;
  return i;
}

// The value at s[i] for a field `f`; sets *end past it (and past a "/total"
// after a step, reporting the total). Accepts wrappers: "[0.0001]",
// "tensor(2.31, device='cuda:0')", quoted numbers.
std::optional<double> ParseValue(std::string_view s, size_t i, Field f,
                                 size_t* end, std::optional<double>* total) {
  const size_t n = s.size();
  i = SkipSpaces(s, i);
  if (i >= n) return std::nullopt;
  char close = 0;
  if (s[i] == '[' || s[i] == '\'' || s[i] == '"') {
    close = s[i] == '[' ? ']' : s[i];
    ++i;
  } else if (IsAlpha(s[i]) && !IStartsWith(s.substr(i), "nan") &&
             !IStartsWith(s.substr(i), "inf")) {
    size_t j = i;
    while (j < n && (IsAlnum(s[j]) || s[j] == '_' || s[j] == '.')) ++j;
    if (j >= n || s[j] != '(') return std::nullopt;
    close = ')';
    i = j + 1;
  }
  size_t e;
  auto v = ParseNumber(s, i, &e);
  if (!v) return std::nullopt;
  if (close) {
    // Skip the rest of the wrapper: ", device='cuda:0')".
    size_t c = s.find(close, e);
    if (c == std::string_view::npos) return std::nullopt;
    if (close == ')' || close == ']' || c == e)
      e = c + 1;
    else
      return std::nullopt;
  } else if (e < n && s[e] == '/' &&
             (f == Field::kStep || f == Field::kEpoch)) {
    // "step 120/1000", Megatron's "iteration      100/    1000".
    size_t t = SkipSpaces(s, e + 1), te;
    if (t < n && IsDigit(s[t])) {
      auto tv = ParseNumber(s, t, &te);
      if (tv && total) *total = *tv;
      if (tv) e = te;
    }
  }
  if (!EndsValue(s, e)) return std::nullopt;
  *end = e;
  return v;
}

// Reads "key=value", "key: value", "Two Words: value" and, for known keys,
// "key value" pairs plus free-standing rates ("6.4 it/s") into `p`.
void ParsePairs(std::string_view s, MetricPoint& p, PairCount& count) {
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    if (i > 0 && !IsBoundary(s[i - 1])) {
      ++i;
      continue;
    }
    char c = s[i];
    if (IsDigit(c)) {
      // A free-standing rate: "1234 tokens/s", "6.38it/s".
      size_t e;
      auto v = ParseNumber(s, i, &e);
      if (!v) {
        ++i;
        continue;
      }
      size_t u = SkipSpaces(s, e);
      if (u - e <= 1) {
        size_t ue = u;
        while (ue < n && (IsAlpha(s[ue]) || s[ue] == '/')) ++ue;
        std::string_view unit = RateUnit(s.substr(u, ue - u));
        if (!unit.empty() && EndsValue(s, ue)) {
          if (Put(p, "", {Field::kThroughput, unit}, *v)) ++count.named_weak;
          i = ue;
          continue;
        }
      }
      i = e;
      continue;
    }
    if (!IsKeyStart(c)) {
      ++i;
      continue;
    }
    size_t ke = ScanKey(s, i);
    if (ke == i) {
      ++i;
      continue;
    }
    std::string key(s.substr(i, ke - i));
    size_t j = SkipSpaces(s, ke);
    if (j < n && (s[j] == '\'' || s[j] == '"') && i > 0 && s[i - 1] == s[j])
      j = SkipSpaces(s, j + 1);  // 'loss': 2.3 outside a well-formed dict.
    bool strong = j < n && (s[j] == '=' || s[j] == ':');
    if (!strong && j > ke && j < n && IsKeyStart(s[j])) {
      // "Train Loss: 2.3", "learning rate: 1e-4", Megatron's "lm loss: 7.2".
      size_t k2e = ScanKey(s, j);
      size_t j2 = SkipSpaces(s, k2e);
      if (k2e > j && j2 < n && (s[j2] == '=' || s[j2] == ':')) {
        std::string second(s.substr(j, k2e - j));
        std::string combined = key + "_" + second;
        if (IsNamed(Canonicalize(combined).field))
          key = combined;
        else if (IsNamed(Canonicalize(second).field))
          key = second;
        else
          key = combined;
        j = j2;
        strong = true;
      }
    }
    // Most words of a log line are prose: only a word followed by a
    // separator or a number is looked up (this keeps 1 MB of prose fast).
    if (!strong && !(j > ke && j < n && MayStartNumber(s.substr(j)))) {
      i = ke;
      continue;
    }
    Canon canon = Canonicalize(key);
    size_t value_at;
    if (strong) {
      value_at = j + 1;
      if (value_at < n && (s[value_at] == '=' || s[value_at] == ':')) {
        i = value_at + 1;  // "==", "::", ":=": not a pair.
        continue;
      }
    } else if (IsNamed(canon.field)) {
      value_at = j;
    } else {
      i = ke;
      continue;
    }
    size_t e;
    std::optional<double> total;
    auto v = ParseValue(s, value_at, canon.field, &e, &total);
    if (!v) {
      i = ke;
      continue;
    }
    // A rate's unit may follow its value: "throughput: 1234 tokens/s".
    std::string_view unit_hint;
    if (canon.field == Field::kThroughput && canon.unit.empty()) {
      size_t u = SkipSpaces(s, e), ue = u;
      while (ue < n && (IsAlpha(s[ue]) || s[ue] == '/')) ++ue;
      unit_hint = RateUnit(s.substr(u, ue - u));
    }
    bool named = Put(p, key, canon, *v, unit_hint);
    if (canon.field == Field::kStep && total)
      Put(p, "total", {Field::kOther, ""}, *total);
    if (named)
      ++(strong ? count.named_strong : count.named_weak);
    else if (strong && canon.field == Field::kOther &&
             (s[j] == '=' || (j + 1 < n && IsSpace(s[j + 1]))))
      ++count.other_strong;
    i = e;
  }
}

// ---------------------------------------------------------------------------
// Shape 2: tqdm progress bars.

// "01:10", "1:02:03" at s[i]; sets *end past it.
bool ParseClock(std::string_view s, size_t i, size_t* end, double* seconds) {
  double total = 0;
  int groups = 0;
  size_t j = i;
  while (true) {
    size_t b = j;
    while (j < s.size() && IsDigit(s[j])) ++j;
    if (j == b || (groups > 0 && j - b != 2)) return false;
    double part = 0;
    std::from_chars(s.data() + b, s.data() + j, part);
    total = total * 60 + part;
    ++groups;
    if (groups < 3 && j + 1 < s.size() && s[j] == ':' && IsDigit(s[j + 1])) {
      ++j;
      continue;
    }
    break;
  }
  if (groups < 2) return false;
  *end = j;
  *seconds = total;
  return true;
}

// A tqdm count: "450", "1.2k" (unit_scale).
std::optional<double> ParseCount(std::string_view t) {
  size_t e;
  auto v = ParseNumber(t, 0, &e);
  if (!v || !std::isfinite(*v)) return std::nullopt;
  if (e + 1 == t.size()) {
    switch (t[e]) {
      case 'k':
        return *v * 1e3;
      case 'M':
        return *v * 1e6;
      case 'G':
        return *v * 1e9;
      default:
        return std::nullopt;
    }
  }
  return e == t.size() ? v : std::nullopt;
}

// The rate field of a bar: "6.38it/s", "1.50s/it", "12.3samples/s",
// "1.23kit/s"; "?it/s" (not known yet) gives nothing.
void ParseRate(std::string_view t, MetricPoint& p) {
  size_t e;
  auto v = ParseNumber(t, 0, &e);
  if (!v || !std::isfinite(*v)) return;
  double scale = 1;
  if (e < t.size() && (t[e] == 'k' || t[e] == 'M' || t[e] == 'G') &&
      e + 1 < t.size() && t[e + 1] != '/') {
    scale = t[e] == 'k' ? 1e3 : t[e] == 'M' ? 1e6 : 1e9;
    ++e;
  }
  std::string_view unit = t.substr(e);
  if (unit.starts_with("s/")) {
    if (!(*v > 0)) return;
    p.throughput = 1.0 / (*v * scale);
    std::string_view per = RateUnit(std::string(unit.substr(2)) + "/s");
    p.throughput_unit =
        per.empty() ? std::string(unit.substr(2)) + "/s" : std::string(per);
    return;
  }
  if (!unit.ends_with("/s") || unit.size() < 3) return;
  std::string_view known = RateUnit(unit);
  p.throughput = *v * scale;
  p.throughput_unit = known.empty() ? std::string(unit) : std::string(known);
}

// What a bar counts, judged from its description.
enum class BarKind {
  kTrain,  // Training steps: no description (HF Trainer, plain loops),
           // "Epoch 3" (Lightning), "Training", "Iteration", "step".
  kEval,   // Validation, sanity checks, tests, prediction: not the run's steps.
  kAux,    // Anything else ("Map", "Loading checkpoint shards", "Downloading"):
           // training only when its postfix reports a loss, lr or grad norm.
};

BarKind ClassifyBar(std::string_view desc) {
  for (std::string_view w : {"valid", "sanity", "test", "predict", "eval"})
    if (IContains(desc, w)) return BarKind::kEval;
  if (desc.empty() || IStartsWith(desc, "epoch")) return BarKind::kTrain;
  for (std::string_view w : {"train", "iteration", "step"})
    if (IContains(desc, w)) return BarKind::kTrain;
  return BarKind::kAux;
}

// What ExtractMetrics needs to know about a bar to spot nested ones.
struct BarInfo {
  bool is_bar = false;
  bool has_desc = false;
  std::optional<double> total;
};

// Parses `s` as a tqdm bar into `p`; false when it is not one.
bool ParseProgress(std::string_view s, MetricPoint& p, BarInfo* info) {
  for (size_t open = s.find(" ["); open != std::string_view::npos;
       open = s.find(" [", open + 1)) {
    size_t clock_end;
    double elapsed;
    if (!ParseClock(s, open + 2, &clock_end, &elapsed)) continue;
    if (clock_end >= s.size() || (s[clock_end] != '<' && s[clock_end] != ','))
      continue;
    // The count before " [": "450/1000" or "450it".
    size_t tb = open;
    while (tb > 0 && !IsSpace(s[tb - 1]) && s[tb - 1] != '|') --tb;
    std::string_view token = s.substr(tb, open - tb);
    std::optional<double> count, total;
    if (size_t slash = token.find('/'); slash != std::string_view::npos) {
      count = ParseCount(token.substr(0, slash));
      total = ParseCount(token.substr(slash + 1));  // "?" when unknown.
    } else {
      size_t d = 0;
      while (d < token.size() && (IsDigit(token[d]) || token[d] == '.')) ++d;
      if (d > 0 && d < token.size() && IsAlpha(token[d]))
        count = ParseCount(token.substr(0, d));
    }
    if (!count) continue;
    // The description: before the percentage ("Epoch 3:  45%|...|") or,
    // without a total, before the count ("Epoch 3: 450it [...").
    std::string_view head = s.substr(0, tb);
    if (size_t pct = head.find("%|"); pct != std::string_view::npos) {
      size_t b = pct;
      while (b > 0 && (IsDigit(head[b - 1]) || head[b - 1] == '.')) --b;
      head = head.substr(0, b);
    }
    std::string_view desc = Trim(head);
    while (!desc.empty() && (desc.back() == ':' || desc.back() == '|'))
      desc.remove_suffix(1);
    desc = Trim(desc);

    // Inside the brackets: "01:10<01:26, 6.38it/s, v_num=0, train_loss=0.123]".
    size_t close = s.rfind(']');
    if (close == std::string_view::npos || close < clock_end) close = s.size();
    std::string_view inside = s.substr(clock_end, close - clock_end);
    std::optional<double> remaining;
    if (inside.starts_with("<")) {
      size_t re;
      double r;
      if (ParseClock(inside, 1, &re, &r)) remaining = r;
    }
    std::string_view rate, postfix;
    if (size_t comma = inside.find(','); comma != std::string_view::npos) {
      std::string_view rest = inside.substr(comma + 1);
      size_t next = rest.find(',');
      rate = Trim(rest.substr(0, next));
      if (next != std::string_view::npos) postfix = rest.substr(next + 1);
    }
    PairCount pc;
    ParsePairs(postfix, p, pc);

    BarKind kind = ClassifyBar(desc);
    if (kind == BarKind::kAux && pc.named_strong > 0) kind = BarKind::kTrain;
    if (kind == BarKind::kTrain) {
      if (IStartsWith(desc, "epoch")) {
        size_t e, at = SkipSpaces(desc, 5);
        auto ep = at < desc.size() ? ParseNumber(desc, at, &e) : std::nullopt;
        if (ep && at > 5) {
          p.epoch = *ep;  // Lightning: "Epoch 3", the bar counts its batches.
          p.step = *count;
        } else if (desc.size() == 5) {
          p.epoch = *count;  // An outer bar over epochs ("Epoch:  33%|").
        } else {
          p.step = *count;
        }
      } else {
        p.step = *count;
      }
      if (p.step) {
        if (total) p.other["total"] = *total;
        if (remaining) p.other["eta_seconds"] = *remaining;
        ParseRate(rate, p);
      }
    }
    info->is_bar = true;
    info->has_desc = !desc.empty();
    info->total = total;
    return true;
  }
  return false;
}

int NamedCount(const MetricPoint& p) {
  int n = 0;
  for (const auto* f : {&p.step, &p.epoch, &p.loss, &p.val_loss, &p.lr,
                        &p.grad_norm, &p.throughput})
    if (f->has_value()) ++n;
  return n;
}

// Whether a segment could hold a number at all (most log lines have a digit;
// "loss=nan" has none).
bool MayHoldNumber(std::string_view s) {
  for (char c : s)
    if (IsDigit(c)) return true;
  return IContains(s, "nan") || IContains(s, "inf");
}


std::optional<MetricPoint> ParseSegment(std::string_view line, BarInfo* bar) {
  if (line.find('\x1b') != std::string_view::npos) {
    std::string plain = StripAnsi(line);
    return ParseSegment(plain, bar);
  }
  line = Trim(line);
  if (line.empty() || !MayHoldNumber(line)) return std::nullopt;
  if (size_t brace = line.find('{'); brace != std::string_view::npos) {
    MetricPoint p;
    DictParser dict(line, &p);
    if (dict.Parse(brace) && dict.named() > 0) return p;
  }
  {
    MetricPoint p;
    if (ParseProgress(line, p, bar)) {
      if (NamedCount(p) > 0) return p;
      return std::nullopt;
    }
  }
  MetricPoint p;
  PairCount c;
  ParsePairs(line, p, c);
  bool accepted = c.named_strong > 0 || c.named_weak >= 2 ||
                  (c.named_weak == 1 && c.other_strong > 0);
  if (!accepted) return std::nullopt;
  return p;
}

// JSON has no NaN: non-finite values travel as strings.
nlohmann::json Number(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (v == std::floor(v) && std::fabs(v) < 9e15) return static_cast<int64_t>(v);
  return v;
}

std::optional<double> FromNumber(const nlohmann::json& v) {
  if (v.is_number()) return v.get<double>();
  if (!v.is_string()) return std::nullopt;
  const std::string& s = v.get_ref<const std::string&>();
  size_t e;
  if (s.empty()) return std::nullopt;
  auto d = ParseNumber(s, 0, &e);
  return d && e == s.size() ? d : std::nullopt;
}

struct NamedField {
  const char* name;
  std::optional<double> MetricPoint::*member;
};
constexpr NamedField kFields[] = {
    {"step", &MetricPoint::step},
    {"epoch", &MetricPoint::epoch},
    {"loss", &MetricPoint::loss},
    {"val_loss", &MetricPoint::val_loss},
    {"lr", &MetricPoint::lr},
    {"grad_norm", &MetricPoint::grad_norm},
    {"throughput", &MetricPoint::throughput},
};

}  // namespace

// `s` without ANSI escape sequences (colored Lightning/rich output).
std::string StripAnsi(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\x1b') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 1 < s.size() && s[i + 1] == '[') {
      i += 2;
      while (i < s.size() && !(s[i] >= '@' && s[i] <= '~')) ++i;
    }
  }
  return out;
}

std::string FormatNumber(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[32];
  if (v == std::floor(v) && std::fabs(v) < 1e15)
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else
    std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

bool MetricPoint::empty() const {
  for (const auto& f : kFields)
    if ((this->*f.member).has_value()) return false;
  return other.empty();
}

std::optional<MetricPoint> ParseMetricLine(std::string_view line) {
  // A line rewritten with '\r' (tqdm) shows its last segment.
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n'))
    line.remove_suffix(1);
  if (size_t cr = line.rfind('\r'); cr != std::string_view::npos)
    line = line.substr(cr + 1);
  BarInfo bar;
  auto p = ParseSegment(line, &bar);
  if (p) p->line = 1;
  return p;
}

std::vector<MetricPoint> ExtractMetrics(std::string_view text) {
  std::vector<MetricPoint> out;
  // The first bar without a description is the training loop's (HF Trainer,
  // plain tqdm loops); a later one with another total is nested inside it
  // (the HF Trainer's evaluation bar) and does not count steps.
  std::optional<double> main_total;
  auto drop_nested_bar = [&](MetricPoint& p, const BarInfo& bar) {
    if (!bar.is_bar || bar.has_desc || !p.step) return;
    if (!main_total) {
      main_total = bar.total.value_or(-1);
      return;
    }
    if (*main_total == bar.total.value_or(-1)) return;
    p.step.reset();
    p.throughput.reset();
    p.throughput_unit.clear();
    p.other.erase("total");
    p.other.erase("eta_seconds");
  };
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    ++line_no;
    // Every '\r'-separated segment is one update of a rewritten line; they
    // share the line number, and the last one wins in Latest().
    std::string_view line = text.substr(pos, nl - pos);
    size_t seg = 0;
    while (seg <= line.size()) {
      size_t cr = line.find('\r', seg);
      if (cr == std::string_view::npos) cr = line.size();
      BarInfo bar;
      if (auto p = ParseSegment(line.substr(seg, cr - seg), &bar)) {
        drop_nested_bar(*p, bar);
        p->line = line_no;
        if (NamedCount(*p) > 0) out.push_back(std::move(*p));
      }
      seg = cr + 1;
    }
    pos = nl + 1;
  }
  return out;
}

MetricPoint Latest(const std::vector<MetricPoint>& points) {
  MetricPoint latest;
  for (const MetricPoint& p : points) {
    for (const auto& f : kFields)
      if ((p.*f.member).has_value()) latest.*f.member = p.*f.member;
    if (p.throughput) latest.throughput_unit = p.throughput_unit;
    for (const auto& [k, v] : p.other)
      if (latest.other.size() < kMaxOther || latest.other.count(k))
        latest.other[k] = v;
    latest.line = p.line;
  }
  return latest;
}

nlohmann::json ToJson(const MetricPoint& p) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& f : kFields)
    if ((p.*f.member).has_value()) j[f.name] = Number(*(p.*f.member));
  if (p.throughput && !p.throughput_unit.empty())
    j["throughput_unit"] = p.throughput_unit;
  for (const auto& [k, v] : p.other)
    if (!j.contains(k)) j[k] = Number(v);
  if (p.line > 0) j["line"] = p.line;
  return j;
}

MetricPoint FromJson(const nlohmann::json& j) {
  MetricPoint p;
  if (!j.is_object()) return p;
  for (const auto& [key, value] : j.items()) {
    if (key == "throughput_unit") {
      if (value.is_string()) p.throughput_unit = value.get<std::string>();
      continue;
    }
    if (key == "line") {
      if (value.is_number_unsigned() || value.is_number_integer())
        p.line =
            static_cast<size_t>(std::max<int64_t>(0, value.get<int64_t>()));
      continue;
    }
    auto v = FromNumber(value);
    if (!v) continue;
    bool named = false;
    for (const auto& f : kFields) {
      if (key == f.name) {
        p.*f.member = *v;
        named = true;
        break;
      }
    }
    if (!named && (p.other.size() < kMaxOther || p.other.count(key)))
      p.other[key] = *v;
  }
  return p;
}

}  // namespace hpc::runs
