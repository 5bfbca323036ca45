// The one redaction pass (mcp_server/redact.h) on its own: what it removes,
// what it must keep, and the log sink built on it. The planted-secret tests
// through every tool are in tests/tools/runs/audit_test.cc.
#include "mcp_server/redact.h"

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <catch2/catch.hpp>
#include <sstream>

#include "tests/support/wandb_fixture.h"

namespace {

using hpc::mcp::json;
using hpc::mcp::Redact;

bool Has(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

const char kPem[] =
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
    "QyNTUxOQAAACDl4tQ6o3cSG0Zq2wbTtCVYkSxl2YuE0d0v1gC6RmSr5wAAAJg1SeCbNUng\n"
    "-----END OPENSSH PRIVATE KEY-----\n";

}  // namespace

TEST_CASE("redaction removes registered secrets and secret shapes",
          "[unit][redact]") {
  const std::string key = hpc::testing::RandomKey();
  hpc::mcp::RegisterSecret(key);
  const std::string text =
      "key " + key + " and\nAuthorization: Bearer abcDEF123456789xyz\n" + kPem +
      "WANDB_API_KEY=hunter2hunter2 {\"hf_token\": \"xyz987abc\"}\n" +
      "https://user:pw1234@host.example/x ghp_" + std::string(36, 'a') +
      " done";
  const std::string out = Redact(text);
  INFO(out);
  for (const std::string& gone :
       {key, std::string("abcDEF123456789xyz"), std::string("b3BlbnNzaC1rZXkt"),
        std::string("PRIVATE KEY"), std::string("hunter2"),
        std::string("xyz987abc"), std::string("pw1234"),
        std::string("ghp_aaaa")})
    CHECK_FALSE(Has(out, gone));
  CHECK(Has(out, "done"));
  CHECK(Has(out, "https://<redacted>@host.example/x"));
  CHECK(Redact(out) == out);  // Idempotent.
}

TEST_CASE("redaction keeps what only looks like a secret", "[unit][redact]") {
  // A git commit in full (the same shape as a W&B key, but not registered),
  // a shell reference to a token file, metrics named like tokens, a digest.
  const std::string text =
      "commit 0123456789abcdef0123456789abcdef01234567\n"
      "WANDB_API_KEY=\"$(cat ~/.wandb_token)\" wandb sync\n"
      "tokens_per_second: 5000, max_tokens=512, token_file: ~/.wandb_token\n"
      "confirm_token_sha256: " +
      std::string(64, 'e') + "\n";
  CHECK(Redact(text) == text);
  // A token the server issues for the agent to repeat stays where it is
  // declared public, and goes everywhere else.
  const std::string issued =
      "repeat with \"confirm_token\": \"0123456789abcdef0123456789abcdef\"";
  CHECK(Redact(issued, {"confirm_token"}) == issued);
  CHECK_FALSE(Has(Redact(issued), "0123456789abcdef"));
}

TEST_CASE("a private key cut off by a tail is removed to the end",
          "[unit][redact]") {
  const std::string text = std::string("before\n") +
                           std::string(kPem).substr(0, 120);  // No END line.
  const std::string out = Redact(text);
  CHECK(out == "before\n<redacted>");
}

TEST_CASE("JSON redaction covers strings and members named like secrets",
          "[unit][redact]") {
  const std::string key = hpc::testing::RandomKey();
  hpc::mcp::RegisterSecret(key);
  json v = {{"env",
             {{"HF_TOKEN", "plain-looking-value"},
              {"OTHER", "x " + key},
              {"PATH", "/bin"}}},
            {"argv", {"echo", "Bearer abcdefghijklmnop"}},
            {"confirm_token", "0123456789abcdef0123456789abcdef"},
            {"token_file", "~/.wandb_token"},
            {"n", 3}};
  json kept = v;
  hpc::mcp::RedactJson(v);
  INFO(v.dump());
  CHECK(v["env"]["HF_TOKEN"] == "<redacted>");
  CHECK(v["env"]["OTHER"] == "x <redacted>");
  CHECK(v["env"]["PATH"] == "/bin");
  CHECK(v["argv"][1] == "<redacted>");
  CHECK(v["confirm_token"] == "<redacted>");
  CHECK(v["token_file"] == "~/.wandb_token");
  CHECK(v["n"] == 3);
  hpc::mcp::RedactJson(kept, {"confirm_token"});
  CHECK(kept["confirm_token"] == "0123456789abcdef0123456789abcdef");
}

TEST_CASE("a private key split over the lines of a log is removed whole",
          "[unit][redact]") {
  json lines = {"before", "-----BEGIN RSA PRIVATE KEY-----", "MIIEbodybody",
                "-----END RSA PRIVATE KEY-----", "after"};
  hpc::mcp::RedactJson(lines);
  CHECK(lines ==
        json{"before", "<redacted>", "<redacted>", "<redacted>", "after"});
}

TEST_CASE("short values are not registered as secrets", "[unit][redact]") {
  hpc::mcp::RegisterSecret("abc");
  CHECK(Redact("abc abc") == "abc abc");
}

TEST_CASE("the redacting log sink removes secrets from every line",
          "[unit][redact]") {
  const std::string key = hpc::testing::RandomKey();
  hpc::mcp::RegisterSecret(key);
  std::ostringstream os;
  spdlog::logger logger(
      "redact-test", hpc::mcp::RedactingSink(
                         std::make_shared<spdlog::sinks::ostream_sink_mt>(os)));
  logger.set_pattern("%l %v");
  logger.warn("token file read: {}", key);
  logger.info("plain line");
  logger.error("header Authorization: Bearer {}", key.substr(0, 20));
  logger.flush();
  const std::string text = os.str();
  INFO(text);
  CHECK_FALSE(Has(text, key));
  CHECK_FALSE(Has(text, key.substr(0, 20)));
  CHECK(Has(text, "warning token file read: <redacted>\n"));
  CHECK(Has(text, "info plain line\n"));
}
