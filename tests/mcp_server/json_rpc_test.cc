#include "mcp_server/json_rpc.h"

#include <catch2/catch.hpp>

using namespace hpc::mcp;

TEST_CASE("messages are classified by their members", "[unit]") {
  std::string why;
  CHECK(Classify(json::parse(R"({"jsonrpc":"2.0","id":1,"method":"ping"})"), &why) ==
        MessageKind::kRequest);
  CHECK(Classify(json::parse(R"({"jsonrpc":"2.0","method":"notifications/x"})"), &why) ==
        MessageKind::kNotification);
  CHECK(Classify(json::parse(R"({"jsonrpc":"2.0","id":"a","result":{}})"), &why) ==
        MessageKind::kResponse);
}

TEST_CASE("malformed messages are invalid, with a reason", "[unit]") {
  const char* bad[] = {
      R"([])",
      R"({"id":1,"method":"ping"})",
      R"({"jsonrpc":"1.0","id":1,"method":"ping"})",
      R"({"jsonrpc":"2.0","id":null,"method":"ping"})",
      R"({"jsonrpc":"2.0","id":1.5,"method":"ping"})",
      R"({"jsonrpc":"2.0","id":{},"method":"ping"})",
      R"({"jsonrpc":"2.0","id":1,"method":7})",
      R"({"jsonrpc":"2.0","id":1,"method":"x","params":3})",
      R"({"jsonrpc":"2.0","id":1})",
      R"({"jsonrpc":"2.0","id":1,"result":{},"error":{}})",
      R"({"jsonrpc":"2.0"})",
  };
  for (const char* b : bad) {
    std::string why;
    INFO(b);
    CHECK(Classify(json::parse(b), &why) == MessageKind::kInvalid);
    CHECK_FALSE(why.empty());
  }
}

TEST_CASE("parsing never throws and flags bad input as discarded", "[unit]") {
  CHECK(ParseJson("{").is_discarded());
  CHECK(ParseJson("").is_discarded());
  CHECK(ParseJson("{} {}").is_discarded());
  CHECK(ParseJson(R"({"a":1})")["a"] == 1);
}

TEST_CASE("ids of different types never collide as keys", "[unit]") {
  CHECK(IdKey(json(1)) != IdKey(json("1")));
  CHECK(IdKey(json("a")) == IdKey(json("a")));
}

TEST_CASE("serialization replaces invalid UTF-8 instead of throwing", "[unit]") {
  json j = std::string("bad \xff byte");
  CHECK_NOTHROW(Dump(j));
}
