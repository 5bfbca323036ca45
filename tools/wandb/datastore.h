// Reading a W&B transaction log (run-<id>.wandb) without wandb installed,
// so that the curves of an offline run that was never synced can be read.
//
// The format, as wandb's own datastore writes it (wandb/sdk/internal/
// datastore.py, and the Go core's leveldb package, which keeps it):
//   - a 7-byte file header: ":W&B", magic 0xBEE1 (little-endian uint16),
//     version (one byte);
//   - then LevelDB-log records in 32 KiB blocks: crc32 (IEEE, over the type
//     byte then the data; little-endian uint32), length (uint16), type (1
//     full, 2 first, 3 middle, 4 last), data. A block tail shorter than a
//     record header is zero padding. The file header takes the first 7
//     bytes of block 0.
//   - each reassembled record is one protobuf `Record` (wandb_internal.proto).
// Only the fields read here are decoded; everything else is skipped by wire
// type, so records from newer wandb versions read fine:
//   Record:        history = 2, run = 17
//   HistoryRecord: item = 1 (repeated), step = 2
//   HistoryItem:   key = 1, nested_key = 2 (repeated), value_json = 16
//   HistoryStep:   num = 1
//   RunRecord:     run_id = 1, entity = 2, project = 3, display_name = 8
//
// Thread-safety: pure functions over values.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "mcp_server/status.h"

namespace hpc::wandb {

struct TransactionLog {
  // One object per history record: metric name (nested keys joined by '.')
  // to value, plus "_step" (from the record's step when the items lack it).
  // Values that JSON cannot carry (NaN, Infinity) are the strings "NaN",
  // "Infinity", "-Infinity".
  std::vector<nlohmann::json> history;
  // What the run recorded about itself: run_id, entity, project,
  // display_name (those present). The last run record wins.
  nlohmann::json run = nlohmann::json::object();
  size_t records = 0;      // Records decoded.
  size_t bad_records = 0;  // Checksum or protobuf errors, skipped.
  bool torn_tail = false;  // The data ends inside a record (a run still
                           // writing, or a read cut at a size limit).
};

// Decodes `bytes` (the whole file, or its first part). InvalidArgument when
// the file header is not a W&B transaction log's.
Result<TransactionLog> ParseTransactionLog(std::string_view bytes);

// A value_json string as JSON; NaN/Infinity as the strings above; a string
// that parses as nothing is kept as a string.
nlohmann::json ParseValueJson(std::string_view text);

}  // namespace hpc::wandb
