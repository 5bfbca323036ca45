// Offline W&B runs and W&B API keys for tests: the run-<id>.wandb
// transaction log written in the format tools/wandb/datastore.h reads, a
// random key shaped like a W&B one with its sha256 (what the stand-in
// checks), the stand-in `wandb` itself (tests/support/wandb_standin.sh,
// whose header holds its contract), and a capture of the server's log, so
// that a test can search everything for the key.
//
// Header-only because the test build globs only *_test.cc files.
#pragma once

#include <openssl/evp.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mcp_server/redact.h"

namespace hpc::testing {

// --- The transaction-log format of tools/wandb/datastore.h, written. ---

namespace wandb_log {

inline std::string Varint(uint64_t v) {
  std::string out;
  do {
    unsigned char b = v & 0x7F;
    v >>= 7;
    out += static_cast<char>(v ? b | 0x80 : b);
  } while (v);
  return out;
}
inline std::string Bytes(uint32_t field, std::string_view data) {
  return Varint(field << 3 | 2) + Varint(data.size()) + std::string(data);
}
inline std::string Num(uint32_t field, uint64_t v) {
  return Varint(field << 3) + Varint(v);
}
inline uint32_t Crc(std::string_view data) {
  uint32_t c = 0xFFFFFFFF;
  for (unsigned char ch : data) {
    c ^= ch;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
  }
  return ~c;
}
inline std::string Le(uint64_t v, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += static_cast<char>((v >> (8 * i)) & 0xFF);
  return s;
}

}  // namespace wandb_log

// One history row: `items` are key and JSON-encoded value.
inline std::string HistoryRecord(
    const std::vector<std::pair<std::string, std::string>>& items,
    int64_t step) {
  using wandb_log::Bytes;
  using wandb_log::Num;
  std::string h;
  for (const auto& [k, v] : items) h += Bytes(1, Bytes(1, k) + Bytes(16, v));
  h += Bytes(2, Num(1, static_cast<uint64_t>(step)));
  return Num(1, 7) + Bytes(2, h);  // Record.num, then Record.history.
}

// The run record: what the run says about itself (id, entity, project).
inline std::string RunRecord(const std::string& id, const std::string& entity,
                             const std::string& project) {
  using wandb_log::Bytes;
  return Bytes(17, Bytes(1, id) + Bytes(2, entity) + Bytes(3, project) +
                       Bytes(8, "bright-sun-1"));
}

// `records` framed as wandb frames them: a header, then 32 KiB blocks of
// CRC-checked chunks.
inline std::string TransactionLog(const std::vector<std::string>& records) {
  using wandb_log::Crc;
  using wandb_log::Le;
  std::string out = std::string(":W&B") + Le(0xBEE1, 2) + std::string(1, '\0');
  for (const auto& rec : records) {
    std::string_view rest = rec;
    bool first = true;
    for (int guard = 0; guard < 100000; ++guard) {
      size_t left = 32768 - out.size() % 32768;
      if (left < 7) {
        out.append(left, '\0');
        continue;
      }
      size_t n = std::min(rest.size(), left - 7);
      bool last = n == rest.size();
      char type = first && last ? 1 : first ? 2 : last ? 4 : 3;
      std::string body = std::string(1, type) + std::string(rest.substr(0, n));
      out += Le(Crc(body), 4) + Le(n, 2) + body;
      rest.remove_prefix(n);
      first = false;
      if (last) break;
    }
  }
  return out;
}

// A fresh 40-hex-digit key, as W&B issues them.
inline std::string RandomKey() {
  std::random_device rd;
  std::mt19937_64 g(rd());
  char buf[48];
  std::snprintf(buf, sizeof buf, "%016llx%016llx%08x",
                static_cast<unsigned long long>(g()),
                static_cast<unsigned long long>(g()),
                static_cast<unsigned>(g()));
  return buf;
}

inline std::string Sha256Hex(const std::string& s) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(s.data(), s.size(), md, &n, EVP_sha256(), nullptr);
  std::string hex;
  char b[3];
  for (unsigned i = 0; i < n; ++i) {
    std::snprintf(b, sizeof b, "%02x", md[i]);
    hex += b;
  }
  return hex;
}

// The stand-in `wandb` executable's text.
inline std::string WandbStandIn() {
  std::ifstream in(
      std::string(HPC_MCP_SOURCE_DIR) + "/tests/support/wandb_standin.sh",
      std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The server's log (spdlog's default logger) for the duration of a test:
// raw, or through the redacting sink exactly as serve.cc sets it up.
class LogCapture {
 public:
  enum Sink { kRaw, kRedacting };
  explicit LogCapture(Sink sink = kRaw) : old_(spdlog::default_logger()) {
    spdlog::sink_ptr out =
        std::make_shared<spdlog::sinks::ostream_sink_mt>(os_);
    if (sink == kRedacting) out = mcp::RedactingSink(std::move(out));
    auto logger = std::make_shared<spdlog::logger>("capture", std::move(out));
    logger->set_level(spdlog::level::trace);
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(old_); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;
  std::string text() {
    spdlog::default_logger()->flush();
    return os_.str();
  }

 private:
  std::ostringstream os_;
  std::shared_ptr<spdlog::logger> old_;
};

}  // namespace hpc::testing
