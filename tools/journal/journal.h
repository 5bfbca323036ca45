// The per-repository journal: an append-only, versioned event log on disk
// (.hpc-mcp/journal.jsonl), validated by schemas/journal_event.json. The
// state of every run is a replay of it.
//
// Durability: Append takes an exclusive flock on the file (two servers on
// one repository never interleave bytes), writes one line, fsyncs, and only
// then returns, so an event the caller acknowledged survives a crash or a
// kill. A crash mid-write leaves a last line without its newline: Replay
// reports it and skips it, and the next Append starts a fresh line first.
//
// Thread-safety: Journal is thread-safe; several processes may append to
// the same file.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "mcp_server/status.h"

namespace hpc::journal {

inline constexpr int kVersion = 1;

struct Event {
  std::string ts;    // UTC, RFC 3339 with milliseconds and Z.
  std::string run;   // Run id; empty for repository-wide events.
  std::string name;  // "submitted", "state_changed", ...
  nlohmann::json context = nlohmann::json::object();
};

struct Replay {
  std::vector<Event> events;
  // Lines that could not be read (torn by a crash, or invalid), with their
  // line numbers: reported to the caller, never silently dropped.
  std::vector<std::string> problems;
  int version = kVersion;
  std::string created;      // The header's creation time.
  std::string id;           // The header's random id (else `created`): the
                            // journal's identity (a cursor from another
                            // journal is refused).
  uint64_t end_offset = 0;  // Just after the last complete line read.
};

class Journal {
 public:
  // The journal of `state_dir` (normally <repo>/.hpc-mcp). Creates the
  // directory, a .gitignore in it (the state is never committed), and the
  // file with its version header when missing.
  static Result<Journal> Open(const std::string& state_dir);

  // Appends `event` (ts filled in when empty), its context passed through
  // mcp::RedactJson (mcp_server/redact.h), and fsyncs. InvalidArgument when
  // the event does not match schemas/journal_event.json.
  Status Append(Event event);

  // Every event in order. A journal written by a newer version is refused
  // (FailedPrecondition) rather than misread.
  Result<Replay> Read() const;

  // The events after byte `offset` (an end_offset of an earlier read of
  // this file; 0: from the start, header included). Reads under a shared
  // flock, so a line being appended is never seen half-written; only
  // complete lines are consumed. `created` and `id` are filled only when reading from
  // 0. FailedPrecondition (reason journal_replaced) when the file is shorter than `offset` (it was replaced).
  Result<Replay> ReadFrom(uint64_t offset) const;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The current UTC time as the journal writes it.
std::string NowUtc();

}  // namespace hpc::journal
