#include "tools/wandb/datastore.h"

#include <array>
#include <cmath>
#include <optional>

namespace hpc::wandb {
namespace {

using nlohmann::json;

constexpr size_t kBlock = 32768;
constexpr size_t kHeader = 7;
constexpr uint16_t kMagic = 0xBEE1;
enum : uint8_t { kFull = 1, kFirst = 2, kMiddle = 3, kLast = 4 };

// Record fields (wandb_internal.proto).
constexpr uint32_t kRecordHistory = 2, kRecordRun = 17;
constexpr uint32_t kHistoryItem = 1, kHistoryStep = 2;
constexpr uint32_t kItemKey = 1, kItemNestedKey = 2, kItemValueJson = 16;
constexpr uint32_t kStepNum = 1;
constexpr uint32_t kRunId = 1, kRunEntity = 2, kRunProject = 3,
                   kRunDisplayName = 8;

uint32_t Crc32(uint32_t crc, std::string_view data) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  crc = ~crc;
  for (unsigned char ch : data) crc = table[(crc ^ ch) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

uint32_t Le32(std::string_view b, size_t at) {
  return static_cast<uint32_t>(static_cast<unsigned char>(b[at])) |
         static_cast<uint32_t>(static_cast<unsigned char>(b[at + 1])) << 8 |
         static_cast<uint32_t>(static_cast<unsigned char>(b[at + 2])) << 16 |
         static_cast<uint32_t>(static_cast<unsigned char>(b[at + 3])) << 24;
}

uint16_t Le16(std::string_view b, size_t at) {
  return static_cast<uint16_t>(static_cast<unsigned char>(b[at]) |
                               static_cast<unsigned char>(b[at + 1]) << 8);
}

// One protobuf field: its number, wire type and payload (varint value, or
// the bytes of a length-delimited field).
struct Field {
  uint32_t number = 0;
  uint32_t wire = 0;
  uint64_t varint = 0;
  std::string_view bytes;
};

// Walks the fields of one protobuf message; false at the end or on
// malformed input (then `bad` is set).
class FieldReader {
 public:
  explicit FieldReader(std::string_view data) : data_(data) {}
  bool Next(Field& f) {
    if (pos_ >= data_.size()) return false;
    auto tag = Varint();
    if (!tag) return Fail();
    f.number = static_cast<uint32_t>(*tag >> 3);
    f.wire = static_cast<uint32_t>(*tag & 7);
    switch (f.wire) {
      case 0: {
        auto v = Varint();
        if (!v) return Fail();
        f.varint = *v;
        return true;
      }
      case 1:
        return Skip(8);
      case 2: {
        auto len = Varint();
        if (!len || *len > data_.size() - pos_) return Fail();
        f.bytes = data_.substr(pos_, static_cast<size_t>(*len));
        pos_ += static_cast<size_t>(*len);
        return true;
      }
      case 5:
        return Skip(4);
      default:  // Groups (3, 4) are not used by wandb's messages.
        return Fail();
    }
  }
  bool bad() const { return bad_; }

 private:
  std::optional<uint64_t> Varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && pos_ < data_.size(); shift += 7) {
      auto b = static_cast<unsigned char>(data_[pos_++]);
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) return v;
    }
    return std::nullopt;
  }
  bool Skip(size_t n) {
    if (n > data_.size() - pos_) return Fail();
    pos_ += n;
    return true;
  }
  bool Fail() {
    bad_ = true;
    return false;
  }
  std::string_view data_;
  size_t pos_ = 0;
  bool bad_ = false;
};

// Decodes a HistoryRecord into one row; false when malformed.
bool DecodeHistory(std::string_view msg, json& row) {
  row = json::object();
  std::optional<int64_t> step;
  FieldReader r(msg);
  Field f;
  while (r.Next(f)) {
    if (f.number == kHistoryItem && f.wire == 2) {
      std::string key, nested;
      std::string_view value;
      FieldReader item(f.bytes);
      Field g;
      while (item.Next(g)) {
        if (g.wire != 2) continue;
        if (g.number == kItemKey) key = g.bytes;
        if (g.number == kItemNestedKey)
          nested += (nested.empty() ? "" : ".") + std::string(g.bytes);
        if (g.number == kItemValueJson) value = g.bytes;
      }
      if (item.bad()) return false;
      const std::string name = nested.empty() ? key : nested;
      if (!name.empty()) row[name] = ParseValueJson(value);
    } else if (f.number == kHistoryStep && f.wire == 2) {
      FieldReader s(f.bytes);
      Field g;
      while (s.Next(g))
        if (g.number == kStepNum && g.wire == 0)
          step = static_cast<int64_t>(g.varint);
      if (s.bad()) return false;
    }
  }
  if (r.bad()) return false;
  if (!row.contains("_step") && step) row["_step"] = *step;
  return true;
}

bool DecodeRun(std::string_view msg, json& run) {
  FieldReader r(msg);
  Field f;
  while (r.Next(f)) {
    if (f.wire != 2) continue;
    const char* name = f.number == kRunId            ? "run_id"
                       : f.number == kRunEntity      ? "entity"
                       : f.number == kRunProject     ? "project"
                       : f.number == kRunDisplayName ? "display_name"
                                                     : nullptr;
    if (name && !f.bytes.empty()) run[name] = std::string(f.bytes);
  }
  return !r.bad();
}

void DecodeRecord(std::string_view data, TransactionLog& log) {
  FieldReader r(data);
  Field f;
  bool ok = true;
  while (ok && r.Next(f)) {
    if (f.wire != 2) continue;
    if (f.number == kRecordHistory) {
      json row;
      ok = DecodeHistory(f.bytes, row);
      if (ok) log.history.push_back(std::move(row));
    } else if (f.number == kRecordRun) {
      ok = DecodeRun(f.bytes, log.run);
    }
  }
  if (!ok || r.bad())
    ++log.bad_records;
  else
    ++log.records;
}

}  // namespace

json ParseValueJson(std::string_view text) {
  // Python's json module (which wandb uses) writes these bare words.
  if (text == "NaN" || text == "Infinity" || text == "-Infinity")
    return std::string(text);
  json v = json::parse(text, nullptr, false);
  if (v.is_discarded()) return std::string(text);
  return v;
}

Result<TransactionLog> ParseTransactionLog(std::string_view bytes) {
  if (bytes.size() < kHeader || bytes.substr(0, 4) != ":W&B" ||
      Le16(bytes, 4) != kMagic)
    return InvalidArgument(
        "not a W&B transaction log (no \":W&B\" header); expected the "
        "run-<id>.wandb file of "
        "an offline run");
  TransactionLog log;
  std::string pending;
  bool in_fragment = false;
  size_t pos = kHeader;
  // Bounded by the input: every pass advances `pos` or ends the loop.
  while (pos < bytes.size()) {
    const size_t left = kBlock - pos % kBlock;
    if (left < kHeader) {  // Block trailer padding.
      pos += left;
      continue;
    }
    if (bytes.size() - pos < kHeader) {
      log.torn_tail = true;
      break;
    }
    const uint32_t crc = Le32(bytes, pos);
    const uint16_t len = Le16(bytes, pos + 4);
    const auto type = static_cast<uint8_t>(bytes[pos + 6]);
    if (crc == 0 && len == 0 && type == 0) {  // Zero fill to the block end.
      pos += left;
      continue;
    }
    if (len > left - kHeader) {  // Cannot be: skip the rest of the block.
      ++log.bad_records;
      in_fragment = false;
      pos += left;
      continue;
    }
    if (bytes.size() - pos - kHeader < len) {
      log.torn_tail = true;
      break;
    }
    std::string_view data = bytes.substr(pos + kHeader, len);
    pos += kHeader + len;
    const char type_byte = static_cast<char>(type);
    if (Crc32(Crc32(0, std::string_view(&type_byte, 1)), data) != crc) {
      ++log.bad_records;
      in_fragment = false;
      continue;
    }
    switch (type) {
      case kFull:
        DecodeRecord(data, log);
        in_fragment = false;
        break;
      case kFirst:
        pending.assign(data);
        in_fragment = true;
        break;
      case kMiddle:
      case kLast:
        if (!in_fragment) {
          ++log.bad_records;
          break;
        }
        pending.append(data);
        if (type == kLast) {
          DecodeRecord(pending, log);
          in_fragment = false;
        }
        break;
      default:
        ++log.bad_records;
    }
  }
  if (in_fragment) log.torn_tail = true;
  return log;
}

}  // namespace hpc::wandb
