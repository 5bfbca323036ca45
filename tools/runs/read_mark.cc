#include "tools/runs/read_mark.h"

#include <nlohmann/json.hpp>

#include "tools/remote/local_remote.h"

namespace hpc::runs {
namespace {

std::string MarkPath(const RunStore& store) {
  return store.state_dir() + "/heartbeat.read";
}

}  // namespace

std::optional<ReadMark> LoadReadMark(RunStore& store) {
  auto text = remote::LocalRemote().ReadFile(MarkPath(store), 0, 4096);
  if (!text.ok()) return std::nullopt;
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
  if (!j.is_object() || !j.contains("seq") || !j["seq"].is_number_unsigned())
    return std::nullopt;
  if (j.value("journal", "") != store.journal_id()) return std::nullopt;
  return ReadMark{j["seq"].get<uint64_t>(), j.value("at", "")};
}

Status MarkRead(RunStore& store, uint64_t seq) {
  if (auto old = LoadReadMark(store); old && old->seq >= seq)
    return Status::Ok();
  nlohmann::json j{
      {"seq", seq}, {"journal", store.journal_id()}, {"at", journal::NowUtc()}};
  return remote::LocalRemote().WriteFileAtomic(MarkPath(store), j.dump() + "\n",
                                               0644);
}

}  // namespace hpc::runs
