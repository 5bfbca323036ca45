#include "mcp_server/json_rpc.h"

namespace hpc::mcp {

MessageKind Classify(const json& m, std::string* why) {
  auto invalid = [&](const char* reason) {
    if (why) *why = reason;
    return MessageKind::kInvalid;
  };
  if (!m.is_object()) return invalid("a JSON-RPC message must be an object");
  auto v = m.find("jsonrpc");
  if (v == m.end() || !v->is_string() || v->get_ref<const std::string&>() != "2.0")
    return invalid("\"jsonrpc\" must be \"2.0\"");
  auto id = m.find("id");
  bool has_id = id != m.end();
  if (has_id && !(id->is_string() || id->is_number_integer()))
    return invalid("\"id\" must be a string or an integer");
  auto method = m.find("method");
  if (method != m.end()) {
    if (!method->is_string()) return invalid("\"method\" must be a string");
    auto params = m.find("params");
    if (params != m.end() && !params->is_object() && !params->is_array())
      return invalid("\"params\" must be an object");
    return has_id ? MessageKind::kRequest : MessageKind::kNotification;
  }
  if (!has_id) return invalid("a message needs \"method\" or \"id\"");
  bool has_result = m.contains("result"), has_error = m.contains("error");
  if (has_result == has_error)
    return invalid("a response needs exactly one of \"result\" and \"error\"");
  return MessageKind::kResponse;
}

json ParseJson(std::string_view text) {
  return json::parse(text.begin(), text.end(), nullptr,
                     /*allow_exceptions=*/false);
}

json MakeResult(const json& id, json result) {
  return json{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
}

json MakeError(const json& id, const RpcError& error) {
  json e{{"code", error.code}, {"message", error.message}};
  if (!error.data.is_null()) e["data"] = error.data;
  return json{{"jsonrpc", "2.0"}, {"id", id}, {"error", std::move(e)}};
}

json MakeNotification(std::string_view method, json params) {
  json n{{"jsonrpc", "2.0"}, {"method", method}};
  if (!params.is_null()) n["params"] = std::move(params);
  return n;
}

json MakeRequest(const json& id, std::string_view method, json params) {
  json r{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}};
  if (!params.is_null()) r["params"] = std::move(params);
  return r;
}

std::string StringOr(const json& obj, std::string_view key, std::string fallback) {
  if (!obj.is_object()) return fallback;
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return fallback;
  return it->get<std::string>();
}

std::string IdKey(const json& id) {
  if (id.is_string()) return "s:" + id.get<std::string>();
  return "i:" + id.dump();
}

std::string Dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace hpc::mcp
