// Both readers share one rule set: a raw line (bytes between newlines)
// becomes its display form in DisplayLine, and a Collector applies grep and
// the line and byte budgets. What differs is the direction: TailLines walks
// backwards from the end, ReadSince forwards from the cursor.
#include "tools/runs/log_reader.h"

#include <algorithm>
#include <string_view>
#include <utility>

namespace hpc::runs {
namespace {

// Small enough that a short tail costs one round trip of 64 KiB, doubling so
// that a sparse grep reaches its scan budget in a few reads, not hundreds.
constexpr size_t kFirstBlock = 64 * 1024;
constexpr size_t kMaxBlock = 1024 * 1024;
constexpr size_t kMaxPatternBytes = 200;
constexpr std::string_view kEllipsis = "\xE2\x80\xA6";     // U+2026
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// The length of the well-formed UTF-8 sequence at s[i] (Unicode table 3-7:
// no overlong forms, no surrogates, nothing above U+10FFFF), or 0.
size_t Utf8Length(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) return 1;
  size_t len = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // Range of the second byte.
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c == 0xE0) {
    len = 3, lo = 0xA0;
  } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
    len = 3;
  } else if (c == 0xED) {
    len = 3, hi = 0x9F;
  } else if (c == 0xF0) {
    len = 4, lo = 0x90;
  } else if (c >= 0xF1 && c <= 0xF3) {
    len = 4;
  } else if (c == 0xF4) {
    len = 4, hi = 0x8F;
  } else {
    return 0;
  }
  if (s.size() - i < len) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (size_t k = 2; k < len; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return len;
}

// The display form of one raw line (log_reader.h): CRs at the end dropped,
// the last CR-separated segment kept, invalid bytes replaced, cut with "…".
// Work is bounded by max_line_bytes, not by the raw line's length, except
// for the two CR searches.
std::string DisplayLine(std::string_view raw, size_t max_line_bytes) {
  while (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
  if (size_t cr = raw.rfind('\r'); cr != std::string_view::npos) {
    raw.remove_prefix(cr + 1);
  }
  std::string out;
  out.reserve(std::min(raw.size(), max_line_bytes) + kEllipsis.size());
  for (size_t i = 0; i < raw.size();) {
    const size_t len = Utf8Length(raw, i);
    const std::string_view piece = len == 0 ? kReplacement : raw.substr(i, len);
    if (out.size() + piece.size() > max_line_bytes) {
      out += kEllipsis;
      break;
    }
    out += piece;
    i += len == 0 ? 1 : len;
  }
  return out;
}

// Applies a query's grep and budgets to lines offered one at a time, in the
// order the caller reads them (newest first for TailLines).
class Collector {
 public:
  enum class Verdict { kTaken, kSkipped, kFull };

  explicit Collector(const LogQuery& q) : q_(q) {}

  // kSkipped: does not match grep. kFull: matches but does not fit; the
  // caller stops before this line. InvalidArgument when std::regex throws
  // (it gives up on complex patterns over long lines).
  Result<Verdict> Offer(std::string_view raw) {
    std::string line = DisplayLine(raw, q_.max_line_bytes);
    if (q_.grep.has_value()) {
      try {
        if (!std::regex_search(line, *q_.grep)) return Verdict::kSkipped;
      } catch (const std::regex_error& e) {
        return InvalidArgument(
            std::string("the grep pattern is too costly to match against "
                        "the log's lines (std::regex: ") +
            e.what() + "): use a simpler pattern, e.g. a plain substring");
      }
    }
    if (lines_.size() >= q_.max_lines) return Verdict::kFull;
    if (!lines_.empty() && bytes_ + line.size() > q_.max_bytes) {
      return Verdict::kFull;
    }
    bytes_ += line.size();
    lines_.push_back(std::move(line));
    return Verdict::kTaken;
  }

  std::vector<std::string> TakeLines() { return std::move(lines_); }

 private:
  const LogQuery& q_;
  std::vector<std::string> lines_;
  size_t bytes_ = 0;
};

// `st` from the Remote, with the path and what to do for a missing file;
// the code and reason stay, so callers can still branch on them.
Status LogError(const Status& st, const std::string& path) {
  std::string message =
      st.code() == StatusCode::kNotFound
          ? "log file " + path + " does not exist (" + st.message() +
                "): check the path, or wait until the job has started and "
                "created it"
          : "reading log file " + path + ": " + st.message();
  Status out(st.code(), std::move(message));
  if (!st.reason().empty()) {
    out.WithReason(st.reason(), st.retry_safe(), st.remediation());
  }
  return out;
}

// The file's size, or the error a reader returns for it.
Result<uint64_t> LogSize(remote::Remote& remote, const std::string& path) {
  auto info = remote.Stat(path);
  if (!info.ok()) return LogError(info.status(), path);
  if (info->is_dir) {
    return InvalidArgument(path +
                           " is a directory, not a log file: pass the path "
                           "of a file in it");
  }
  return info->size;
}

}  // namespace

Result<LogChunk> TailLines(remote::Remote& remote, const std::string& path,
                           const LogQuery& q) {
  auto size = LogSize(remote, path);
  if (!size.ok()) return size.status();
  LogChunk chunk;
  chunk.size = *size;
  Collector collector(q);
  uint64_t pos = chunk.size;  // Everything from here to the end was read.
  // The line being assembled: bytes from `pos` up to the newline that ends
  // it (its start has not been read yet). Empty until `found_end`.
  std::string carry;
  // Whether the newline ending the last complete line was seen; bytes after
  // it are the partial last line, never returned.
  bool found_end = false;
  size_t scanned = 0;
  size_t block = kFirstBlock;
  // Bounded: every pass reads at least one byte of the scan budget, or
  // ends the loop.
  while (true) {
    if (pos == 0) {
      // The file's first line starts at 0; it is complete if a newline
      // after it was seen.
      if (found_end) {
        auto v = collector.Offer(carry);
        if (!v.ok()) return v.status();
        if (*v == Collector::Verdict::kFull) chunk.truncated = true;
      }
      break;
    }
    if (scanned >= q.max_scan_bytes) {
      chunk.truncated = true;  // Earlier lines may exist; not read.
      break;
    }
    const size_t n = static_cast<size_t>(
        std::min<uint64_t>({block, pos, q.max_scan_bytes - scanned}));
    auto data = remote.ReadFile(path, pos - n, n);
    if (!data.ok()) return LogError(data.status(), path);
    chunk.bytes_read += data->size();
    if (data->size() != n) {
      return Status(StatusCode::kUnavailable,
                    "log file " + path +
                        " shrank while it was being read (rotated or "
                        "rewritten)")
          .WithReason("io_error", true, "read the log again");
    }
    pos -= n;
    scanned += n;
    std::string buf = std::move(*data);
    buf += carry;
    size_t end = buf.size();  // End of the line being assembled.
    bool full = false;
    for (size_t nl = buf.rfind('\n'); nl != std::string::npos;
         nl = nl == 0 ? std::string::npos : buf.rfind('\n', nl - 1)) {
      if (!found_end) {
        found_end = true;
        chunk.cursor = pos + nl + 1;
      } else {
        auto v =
            collector.Offer(std::string_view(buf).substr(nl + 1, end - nl - 1));
        if (!v.ok()) return v.status();
        if (*v == Collector::Verdict::kFull) {
          chunk.truncated = true;
          full = true;
          break;
        }
      }
      end = nl;
    }
    if (full) break;
    carry = found_end ? buf.substr(0, end) : std::string();
    // Growing with the carry keeps a line longer than a block from being
    // copied once per block (quadratic).
    block = std::max(std::min(block * 2, kMaxBlock), carry.size());
  }
  chunk.lines = collector.TakeLines();
  std::reverse(chunk.lines.begin(), chunk.lines.end());
  if (!found_end) chunk.cursor = pos;  // No complete line within the budget.
  return chunk;
}

Result<LogChunk> ReadSince(remote::Remote& remote, const std::string& path,
                           uint64_t cursor, const LogQuery& q) {
  auto size = LogSize(remote, path);
  if (!size.ok()) return size.status();
  LogChunk chunk;
  chunk.size = *size;
  if (cursor > chunk.size) {
    chunk.rotated = true;
    cursor = 0;
  }
  chunk.cursor = cursor;
  Collector collector(q);
  // Bytes read from chunk.cursor up to `pos`: at most one line's start, as
  // complete lines are consumed as soon as they are seen.
  std::string pending;
  size_t searched = 0;  // pending[0, searched) holds no newline.
  uint64_t pos = cursor;
  size_t scanned = 0;
  size_t block = kFirstBlock;
  uint64_t after_last_taken = cursor;
  bool full = false;
  // Only up to the size Stat gave: what is appended meanwhile belongs to the
  // next call, and the loop is bounded by the scan budget either way.
  while (!full && pos < chunk.size) {
    if (scanned >= q.max_scan_bytes) {
      chunk.truncated = true;
      // No newline in the whole budget: return the line's head as a piece
      // and move past it, or the reader would stall here forever.
      if (!pending.empty() && pending.size() == scanned) {
        auto v = collector.Offer(pending);
        if (!v.ok()) return v.status();
        if (*v != Collector::Verdict::kFull) chunk.cursor += pending.size();
      }
      break;
    }
    const size_t n = static_cast<size_t>(std::min<uint64_t>(
        {block, chunk.size - pos, q.max_scan_bytes - scanned}));
    auto data = remote.ReadFile(path, pos, n);
    if (!data.ok()) return LogError(data.status(), path);
    chunk.bytes_read += data->size();
    if (data->empty()) break;  // Shrank since Stat; the next call sees it.
    pos += data->size();
    scanned += data->size();
    block = std::min(block * 2, kMaxBlock);
    pending += *data;
    size_t start = 0;  // Of the next line in `pending`.
    for (size_t nl = pending.find('\n', searched); nl != std::string::npos;
         nl = pending.find('\n', start)) {
      auto v =
          collector.Offer(std::string_view(pending).substr(start, nl - start));
      if (!v.ok()) return v.status();
      if (*v == Collector::Verdict::kFull) {
        // Continue exactly after the last line returned; lines skipped by
        // grep since then are scanned again next time.
        chunk.truncated = true;
        chunk.cursor = after_last_taken;
        full = true;
        break;
      }
      chunk.cursor += nl + 1 - start;
      if (*v == Collector::Verdict::kTaken) after_last_taken = chunk.cursor;
      start = nl + 1;
    }
    pending.erase(0, start);
    searched = pending.size();
  }
  chunk.lines = collector.TakeLines();
  return chunk;
}

Result<std::regex> CompileGrep(const std::string& pattern) {
  if (pattern.size() > kMaxPatternBytes) {
    return InvalidArgument(
        "the grep pattern is " + std::to_string(pattern.size()) +
        " bytes; at most " + std::to_string(kMaxPatternBytes) +
        " are allowed: use a shorter pattern, e.g. a distinctive part of the "
        "lines you are looking for");
  }
  try {
    return std::regex(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    return InvalidArgument(
        "the grep pattern \"" + pattern +
        "\" is not a valid ECMAScript regular expression (" + e.what() +
        "): fix it, or escape the characters \\ ^ $ . | ? * + ( ) [ ] { } "
        "with a backslash to match them literally");
  }
}

}  // namespace hpc::runs
