// The notification config and what a notice says: tools/notify/notify.h
// without the network (deliver_test.cc sends them).

#include "tools/notify/notify.h"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/notice_fixture.h"
#include "tests/support/subprocess.h"

namespace hpc::notify {
namespace {

using Catch::Contains;
using testing::FailedNotice;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Sets an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old, had_ = true;
    if (value)
      ::setenv(name, value, 1);
    else
      ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (had_)
      ::setenv(name_.c_str(), old_.c_str(), 1);
    else
      ::unsetenv(name_.c_str());
  }

 private:
  std::string name_, old_;
  bool had_ = false;
};

TEST_CASE("a notice is at most five short plain lines, empty fields left out",
          "[notify][unit]") {
  auto lines = Lines(NoticeText(FailedNotice()));
  REQUIRE(lines.size() == 5);
  CHECK(lines[0] == "hpc-mcp: run bert failed (out_of_memory) after 3h12m");
  CHECK(lines[1] == "in bert on slurm-a, step 48000/100000, loss 2.31");
  CHECK(lines[2] == "diagnosis: gpu_oom: CUDA out of memory");
  CHECK(lines[3] ==
        "evidence: torch.OutOfMemoryError: CUDA out of memory. Tried to "
        "allocate 2.00 GiB");
  CHECK(lines[4] ==
        "next: halve the batch size or turn on gradient checkpointing");

  Notice started;
  started.event = "run_started";
  started.run_id = "20261123-bert-a1b2";
  CHECK(NoticeText(started) == "hpc-mcp: run 20261123-bert-a1b2 started");

  Notice health;
  health.event = "health_failed";
  health.run_name = "bert";
  health.last_metric = "loss nan";
  CHECK(NoticeText(health) ==
        "hpc-mcp: run bert: health check failed\nloss nan");

  Notice finished;
  finished.event = "run_finished";
  finished.run_name = "bert";
  finished.state = "completed";
  finished.runtime = "1h";
  CHECK(NoticeText(finished) == "hpc-mcp: run bert finished after 1h");
}

TEST_CASE("a field's line breaks and length cannot stretch a notice",
          "[notify][unit]") {
  Notice n = FailedNotice();
  n.evidence = "line one\nline two\r\n\tline three\n\n\n";
  n.diagnosis = std::string(1000, 'x');
  n.next = std::string(300, 'y') + "\xC3\xA9";  // Ends in a 2-byte character.
  auto lines = Lines(NoticeText(n));
  REQUIRE(lines.size() == 5);
  CHECK(lines[3] == "evidence: line one line two line three");
  for (const auto& line : lines) CHECK(line.size() <= 200);
  CHECK(lines[2].ends_with("..."));
}

TEST_CASE("the webhook body carries every non-empty field and the text",
          "[notify][unit]") {
  Notice n = FailedNotice();
  n.profile.clear();
  auto j = NoticeJson(n);
  CHECK(j["event"] == "run_failed");
  CHECK(j["key"] == n.key);
  CHECK(j["run_id"] == n.run_id);
  CHECK(j["repo"] == n.repo);
  CHECK(j["at"] == n.at);
  CHECK(j["text"] == NoticeText(n));
  CHECK_FALSE(j.contains("profile"));
}

constexpr char kExample[] = R"(# The example of tools/notify/notify.h.
events: [run_failed, health_failed, run_finished]
channels:
  - kind: webhook
    url: https://hooks.example.org/hpc
    token_file: ~/.config/hpc-mcp/webhook_token
  - kind: ntfy
    url: https://ntfy.sh/my-runs
    token_file: ~/.config/hpc-mcp/ntfy_token
  - kind: telegram
    chat_id: "123456789"
    token_file: ~/.config/hpc-mcp/telegram_bot_token
    api_base: https://api.telegram.org
  - kind: command
    argv: [notify-send, hpc-mcp]
    events: [run_failed]
retries: 3
timeout_s: 10
)";

TEST_CASE("the documented example parses, ~ expanded", "[notify][unit]") {
  ScopedEnv home("HOME", "/home/ada");
  auto config = ParseConfig(kExample, "notify.yaml");
  REQUIRE(config.ok());
  CHECK(config->source == "notify.yaml");
  CHECK(config->events == std::vector<std::string>{
                              "run_failed", "health_failed", "run_finished"});
  CHECK(config->retries == 3);
  CHECK(config->timeout == std::chrono::seconds(10));
  REQUIRE(config->channels.size() == 4);
  const auto& webhook = config->channels[0];
  CHECK(webhook.kind == "webhook");
  CHECK(webhook.url == "https://hooks.example.org/hpc");
  CHECK(webhook.token_file == "/home/ada/.config/hpc-mcp/webhook_token");
  const auto& telegram = config->channels[2];
  CHECK(telegram.chat_id == "123456789");
  CHECK(telegram.api_base == "https://api.telegram.org");
  const auto& command = config->channels[3];
  CHECK(command.argv == std::vector<std::string>{"notify-send", "hpc-mcp"});

  CHECK(config->Wants(webhook, "run_finished"));
  CHECK_FALSE(config->Wants(webhook, "run_started"));
  CHECK(config->Wants(command, "run_failed"));
  CHECK_FALSE(config->Wants(command, "run_finished"));
}

TEST_CASE("defaults: every event but run_started, 3 attempts, 10 s",
          "[notify][unit]") {
  auto config = ParseConfig(
      "channels:\n  - kind: telegram\n    chat_id: -1001234567890\n"
      "    token_file: /etc/hpc-mcp/bot\n",
      "n.yaml");
  REQUIRE(config.ok());
  CHECK(config->events == std::vector<std::string>{"run_finished", "run_failed",
                                                   "health_failed",
                                                   "sweep_done"});
  CHECK(config->retries == 3);
  CHECK(config->timeout == std::chrono::seconds(10));
  CHECK(config->channels[0].chat_id == "-1001234567890");  // A YAML number.
  CHECK(config->channels[0].api_base == "https://api.telegram.org");
}

TEST_CASE("config errors name the file, the line, the field and the fix",
          "[notify][unit]") {
  struct Case {
    const char* yaml;
    std::vector<const char*> expected;
  };
  const Case cases[] = {
      {"channels:\n  - kind: slack\n    url: https://x.org/a\n",
       {"n.yaml:2: channels[0].kind: not an allowed value",
        "\"webhook\",\"ntfy\",\"telegram\",\"command\"", "slack"}},
      {"channels:\n  - kind: telegram\n    chat_id: \"1\"\n",
       {"n.yaml:2: channels[0]: a telegram channel needs token_file:",
        "@BotFather"}},
      {"events: [run_failed, run_faild]\nchannels:\n  - kind: ntfy\n"
       "    url: https://ntfy.sh/t\n",
       {"n.yaml:1: events[1]: not an allowed value", "run_faild"}},
      {"channels:\n  - kind: webhook\n    url: [unclosed\n",
       {"n.yaml:", "invalid YAML"}},
      {"retry: 3\nchannels:\n  - kind: ntfy\n    url: https://ntfy.sh/t\n",
       {"n.yaml:1: (top level): unknown property 'retry'"}},
      {"channels:\n  - kind: webhook\n    url: https://x.org/a\n"
       "    chat_id: \"1\"\n",
       {"n.yaml:4: channels[0].chat_id: is not used by a webhook channel",
        "(it takes token_file, url)", "remove it"}},
      {"channels:\n  - kind: ntfy\n    url: https://ntfy.sh/\n",
       {"n.yaml:3: channels[0].url: names no topic",
        "https://ntfy.sh/my-runs"}},
      {"channels:\n  - kind: command\n",
       {"channels[0]: a command channel needs argv:"}},
      {"channels:\n  - kind: telegram\n    chat_id: alice\n"
       "    token_file: /t\n",
       {"n.yaml:3: channels[0].chat_id: must be a chat id"}},
      {"channels:\n  - kind: webhook\n    token_file: relative/path\n"
       "    url: https://x.org/a\n",
       {"n.yaml:3: channels[0].token_file: does not match the required "
        "pattern"}},
      {"channels: []\n", {"n.yaml:1: channels:"}},
      {"", {"n.yaml:1: the file is empty"}},
      {"- kind: webhook\n", {"a notification config is a YAML mapping"}},
      {"timeout_s: 0\nchannels:\n  - kind: ntfy\n    url: https://ntfy.sh/t\n",
       {"n.yaml:1: timeout_s:", "minimum"}},
  };
  for (const Case& c : cases) {
    INFO(c.yaml);
    auto config = ParseConfig(c.yaml, "n.yaml");
    REQUIRE_FALSE(config.ok());
    CHECK(config.status().code() == StatusCode::kInvalidArgument);
    for (const char* e : c.expected)
      CHECK_THAT(config.status().message(), Contains(e));
  }
}

TEST_CASE("a URL with user:password@ is refused without repeating it",
          "[notify][unit]") {
  auto config = ParseConfig(
      "channels:\n  - kind: ntfy\n    url: "
      "https://phil:hunter2-secret@ntfy.example.org/t\n",
      "n.yaml");
  REQUIRE_FALSE(config.ok());
  CHECK_THAT(config.status().message(),
             Contains("channels[0].url: carries user:password@") &&
                 Contains("token_file") && !Contains("hunter2"));
}

TEST_CASE("Describe names the channel without paths, queries or tokens",
          "[notify][unit]") {
  Channel webhook;
  webhook.kind = "webhook";
  webhook.url = "https://hooks.example.org/services/T0/B0/XYZ?token=abc";
  CHECK(webhook.Describe() == "webhook https://hooks.example.org/...");
  Channel ntfy;
  ntfy.kind = "ntfy";
  ntfy.url = "http://127.0.0.1:8080/secret-topic";
  CHECK(ntfy.Describe() == "ntfy http://127.0.0.1:8080/...");
  Channel bare;
  bare.kind = "webhook";
  bare.url = "https://user:pw@example.org";
  CHECK(bare.Describe() == "webhook https://example.org");
  Channel telegram;
  telegram.kind = "telegram";
  telegram.chat_id = "123456789";
  telegram.token_file = "/home/ada/bot";
  CHECK(telegram.Describe() == "telegram chat 123456789");
  telegram.api_base = "http://127.0.0.1:9000/tg";
  CHECK(telegram.Describe() ==
        "telegram chat 123456789 via http://127.0.0.1:9000/...");
  Channel command;
  command.kind = "command";
  command.argv = {"notify-send", "--urgency=critical"};
  CHECK(command.Describe() == "command notify-send");
}

TEST_CASE("LoadConfig reads a file and says NotFound for a missing one",
          "[notify][unit]") {
  testing::TempDir dir;
  std::string path = dir.WriteFile(
      "notify.yaml", "channels:\n  - kind: ntfy\n    url: https://ntfy.sh/t\n");
  auto config = LoadConfig(path);
  REQUIRE(config.ok());
  CHECK(config->source == path);
  CHECK(config->channels.at(0).kind == "ntfy");

  auto missing = LoadConfig((dir.path() / "none.yaml").string());
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == StatusCode::kNotFound);

  std::string bad = dir.WriteFile("bad.yaml", "channels: {}\n");
  auto invalid = LoadConfig(bad);
  REQUIRE_FALSE(invalid.ok());
  CHECK_THAT(invalid.status().message(), Contains(bad + ":1: channels:"));
}

TEST_CASE("the default config path follows XDG_CONFIG_HOME, then HOME",
          "[notify][unit]") {
  ScopedEnv home("HOME", "/home/ada");
  {
    ScopedEnv xdg("XDG_CONFIG_HOME", "/cfg");
    CHECK(DefaultConfigPath() == "/cfg/hpc-mcp/notify.yaml");
  }
  {
    ScopedEnv xdg("XDG_CONFIG_HOME", "relative");  // Ignored, as the spec says.
    CHECK(DefaultConfigPath() == "/home/ada/.config/hpc-mcp/notify.yaml");
  }
  ScopedEnv xdg("XDG_CONFIG_HOME", nullptr);
  CHECK(DefaultConfigPath() == "/home/ada/.config/hpc-mcp/notify.yaml");
}

}  // namespace
}  // namespace hpc::notify
