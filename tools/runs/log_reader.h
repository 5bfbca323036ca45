// Reads job logs through the Remote seam, reading only the bytes it
// returns: the tail of a 10 GB log costs about as many bytes as the lines
// shown (blocks read backwards from the end), locally or over SFTP.
//
// A cursor is the byte offset just after the last complete line returned;
// reading from it later returns only what was written since. A partial last
// line (the job is still writing it) is not returned and not passed by the
// cursor. A file that shrank below the cursor (rotated or rewritten) is read
// from its start again, with `rotated` set (a rotated file that has already
// grown past the cursor is not noticed).
//
// What a returned line holds (the display form of one log line):
//   - The newline is dropped, and so is a CR before it (CRLF files).
//   - Progress bars that redraw with a bare CR (tqdm writes "\r 10%|..",
//     "\r 20%|.." and one final "\n") keep only their last CR-separated
//     segment: the state a terminal would show, not every redraw.
//   - Bytes that are not valid UTF-8 become U+FFFD, one per byte, so the
//     text can go into JSON (nlohmann::json::dump does not throw on it).
//   - More than `max_line_bytes` of text is cut at a character boundary and
//     "…" (3 bytes) appended.
// A line longer than `max_scan_bytes` cannot be seen whole in one call:
// TailLines leaves it out (with `truncated`); ReadSince returns it in pieces
// of at most `max_scan_bytes`, each one cut as above, so a reader never
// stalls on it.
//
// Thread-safety: functions are thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "mcp_server/status.h"
#include "tools/remote/remote.h"

namespace hpc::runs {

struct LogChunk {
  std::vector<std::string> lines;  // Without their newlines; invalid UTF-8
                                   // replaced so the text is valid JSON.
  uint64_t cursor = 0;             // Offset after the last line returned
                                   // (see each function for grep).
  uint64_t size = 0;               // File size when read.
  bool truncated = false;          // More lines matched than returned
                                   // (line count or byte budget), or may
                                   // have (the scan budget ran out first).
  bool rotated = false;            // The file shrank below the cursor.
  uint64_t bytes_read = 0;         // What was actually read (benchmarks).
};

struct LogQuery {
  size_t max_lines = 200;
  // Of lines returned (~6k tokens): the sum of their sizes, newlines not
  // counted. The first line is returned even when it alone is larger.
  size_t max_bytes = 24 * 1024;
  size_t max_scan_bytes = 1 << 20;  // Read at most this much per call.
  // Only matching lines count and are returned. Matched (std::regex_search)
  // against the display form, i.e. what the caller will see.
  std::optional<std::regex> grep;
  size_t max_line_bytes = 2000;  // Longer lines are cut with "…".
};

// The last `q.max_lines` (matching) lines of `path`, oldest first. Reads
// backwards from the end in blocks (64 KiB, doubling up to 1 MiB) until it
// has them or has read `q.max_scan_bytes`; with grep it keeps scanning back
// for matches within that budget. `truncated`: an earlier (matching) line
// exists, or the budget ran out before the start of the file. `cursor` is
// the end of the file's last complete line, matching or not, so that
// ReadSince(cursor) follows the file from there (where the scan stopped
// when no newline was within the budget).
//
// Errors: NotFound (reason not_found) naming `path` when it does not exist,
// InvalidArgument for a directory, the Remote's other errors with `path`
// in the message, InvalidArgument when std::regex gives up on a line
// (error_complexity, error_stack).
Result<LogChunk> TailLines(remote::Remote& remote, const std::string& path,
                           const LogQuery& q);

// The (matching) lines written after `cursor`, oldest first, at most
// `q.max_lines` / `q.max_bytes` (then `truncated`, and the cursor stops
// after the last line returned so the next call continues there). Reads
// forward from the cursor in blocks up to `q.max_scan_bytes`; when that
// budget runs out before the end of the file, `truncated` is set too and
// the next call goes on from the cursor. With grep, lines that do not match
// are passed by the cursor as well (they are never shown by this query),
// except after the last line returned when a budget stopped the call.
// Errors as for TailLines.
Result<LogChunk> ReadSince(remote::Remote& remote, const std::string& path,
                           uint64_t cursor, const LogQuery& q);

// Compiles a user's grep pattern (ECMAScript syntax, at most 200 bytes);
// InvalidArgument naming the pattern and its error, and saying how to fix
// it, otherwise. An empty pattern matches every line.
Result<std::regex> CompileGrep(const std::string& pattern);

}  // namespace hpc::runs
