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
};

class Journal {
 public:
  // The journal of `state_dir` (normally <repo>/.hpc-mcp). Creates the
  // directory, a .gitignore in it (the state is never committed), and the
  // file with its version header when missing.
  static Result<Journal> Open(const std::string& state_dir);

  // Appends `event` (ts filled in when empty) and fsyncs. InvalidArgument
  // when the event does not match schemas/journal_event.json.
  Status Append(Event event);

  // Every event in order. A journal written by a newer version is refused
  // (FailedPrecondition) rather than misread.
  Result<Replay> Read() const;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The current UTC time as the journal writes it.
std::string NowUtc();

}  // namespace hpc::journal
