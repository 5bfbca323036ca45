// The requestState seal: what a tool hands out through the client comes
// back unaltered, for the same request, before it expires, or not at all.
#include "mcp_server/request_state.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

using hpc::mcp::RequestStateSealer;
using std::chrono::seconds;

namespace {

constexpr const char* kScope = "tools/call\nsubmit";
constexpr const char* kKey = "0123456789abcdef0123456789abcdef";

// Every character a sealed state is made of, and a few it never holds.
const std::string& Alphabet() {
  static const std::string kAll =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ";
  return kAll;
}

}  // namespace

TEST_CASE("a sealed state opens to its payload for its scope", "[unit]") {
  RequestStateSealer sealer(kKey);
  std::string all_bytes;
  for (int c = 0; c < 256; ++c) all_bytes.push_back(static_cast<char>(c));
  // Lengths of every remainder modulo 3, so that every base64 tail occurs.
  for (std::string payload : {std::string(), std::string("a"), std::string("ab"),
                              std::string("abc"), std::string("{\"step\":2}"), all_bytes,
                              std::string(10000, 'x')}) {
    INFO("payload of " << payload.size() << " bytes");
    std::string sealed = sealer.Seal(kScope, payload);
    auto opened = sealer.Open(kScope, sealed);
    REQUIRE(opened);
    CHECK(*opened == payload);
    // The same key opens it in another sealer (another thread, the same
    // configured key after a restart).
    CHECK(RequestStateSealer(kKey).Open(kScope, sealed) == payload);
  }
  // A random key per sealer when none is given: each opens its own.
  RequestStateSealer random;
  CHECK(random.Open(kScope, random.Seal(kScope, "p")) == std::string("p"));
}

TEST_CASE("a sealed state with any character altered, added or removed is refused",
          "[unit]") {
  RequestStateSealer sealer(kKey);
  for (std::string payload : {"state-A", "ab", "abc", "abcd"}) {
    const std::string sealed = sealer.Seal(kScope, payload);
    INFO("payload " << payload << ", sealed " << sealed);
    REQUIRE(sealer.Open(kScope, sealed));
    for (size_t i = 0; i < sealed.size(); ++i) {
      for (char c : Alphabet()) {
        if (c == sealed[i]) continue;
        std::string altered = sealed;
        altered[i] = c;
        INFO("position " << i << " set to '" << c << "': " << altered);
        CHECK_FALSE(sealer.Open(kScope, altered));
      }
      std::string removed = sealed;
      removed.erase(i, 1);
      INFO("position " << i << " removed: " << removed);
      CHECK_FALSE(sealer.Open(kScope, removed));
    }
    for (char c : Alphabet()) {
      INFO("'" << c << "' appended or prepended");
      CHECK_FALSE(sealer.Open(kScope, sealed + c));
      CHECK_FALSE(sealer.Open(kScope, c + sealed));
    }
  }
}

TEST_CASE("a sealed state is refused for another scope, key or after its ttl", "[unit]") {
  RequestStateSealer sealer(kKey);
  const std::string sealed = sealer.Seal(kScope, "payload");

  SECTION("another tool, prompt or method") {
    for (std::string scope : {"tools/call\nother", "prompts/get\nsubmit", "tools/call\nsubmi",
                              "tools/call\nsubmit\n", "", "tools/call"}) {
      INFO("scope " << scope);
      CHECK_FALSE(sealer.Open(scope, sealed));
    }
  }
  SECTION("another key") {
    CHECK_FALSE(RequestStateSealer("another key of the same server...").Open(kScope, sealed));
    CHECK_FALSE(RequestStateSealer().Open(kScope, sealed));
    RequestStateSealer a, b;  // Random keys differ.
    CHECK_FALSE(b.Open(kScope, a.Seal(kScope, "x")));
  }
  SECTION("expired") {
    for (seconds ttl : {seconds(-1), seconds(-3600)}) {
      INFO("ttl " << ttl.count() << " s");
      RequestStateSealer stale(kKey, ttl);
      std::string old = stale.Seal(kScope, "payload");
      CHECK_FALSE(stale.Open(kScope, old));
      // The expiry travels in the state: a sealer with a longer ttl and the
      // same key refuses it too.
      CHECK_FALSE(sealer.Open(kScope, old));
    }
    // And a state sealed with a long ttl opens in a sealer with a short one.
    CHECK(RequestStateSealer(kKey, seconds(-1)).Open(kScope, sealed) == std::string("payload"));
  }
}

TEST_CASE("garbage is refused without a crash", "[unit]") {
  RequestStateSealer sealer(kKey);
  const std::string mac(64, 'a');
  std::vector<std::string> garbage = {
      "",
      "v1",
      "v1...",
      "....",
      "v1.1.cGF5bG9hZA." + mac,
      "v2.99999999999.cGF5bG9hZA." + mac,
      "v1.99999999999999999999.cGF5bG9hZA." + mac,  // 20 digits.
      "v1.9999999999999999999.cGF5bG9hZA." + mac,   // 19 digits, over int64.
      "v1.-5.cGF5bG9hZA." + mac,
      "v1.12a.cGF5bG9hZA." + mac,
      "v1.99999999999.cGF5bG9hZA==." + mac,
      "v1.99999999999.!!!!." + mac,
      "v1.99999999999.cGF5bG9hZA." + mac + ".extra",
      "v1.99999999999.cGF5bG9hZA.\xff\xfe",
      std::string("v1.99999999999.\0\0.", 18) + mac,
      std::string(100000, '.'),
      std::string(100000, 'A'),
  };
  for (const std::string& g : garbage) {
    INFO("garbage: " << g.substr(0, 80));
    CHECK_FALSE(sealer.Open(kScope, g));
  }
}
