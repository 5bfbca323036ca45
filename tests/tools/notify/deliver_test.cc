// Deliver against real receivers: httplib servers on 127.0.0.1 that record
// every request and answer as each test says (a webhook, an ntfy server, a
// Telegram Bot API stand-in), and small scripts for the command channel.
// Retries use a 10 ms backoff (Config::backoff) so the suite stays fast;
// one test checks the real 1 s default.

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/files.h"
#include "tests/support/notice_fixture.h"
#include "tests/support/subprocess.h"
#include "tests/support/wandb_fixture.h"
#include "tools/notify/notify.h"

namespace hpc::notify {
namespace {

using Catch::Contains;
using nlohmann::json;
using testing::FailedNotice;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

struct Seen {
  std::string path, body;
  httplib::Headers headers;
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

// An HTTP server on 127.0.0.1 (a free port) that records each POST and lets
// `answer` reply to it; `n` counts requests from 1.
class Receiver {
 public:
  using Answer =
      std::function<void(int n, const httplib::Request&, httplib::Response&)>;

  explicit Receiver(Answer answer) : answer_(std::move(answer)) {
    server_.Post(".*",
                 [this](const httplib::Request& req, httplib::Response& res) {
                   int n;
                   {
                     std::lock_guard<std::mutex> lock(mutex_);
                     seen_.push_back({req.path, req.body, req.headers});
                     n = static_cast<int>(seen_.size());
                   }
                   answer_(n, req, res);
                 });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() before the accept loop runs would be lost; wait for it.
    auto deadline = Clock::now() + std::chrono::seconds(5);
    while (!server_.is_running() && Clock::now() < deadline)
      std::this_thread::sleep_for(milliseconds(1));
  }
  ~Receiver() {
    server_.stop();
    thread_.join();
  }

  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::vector<Seen> seen() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return seen_;
  }

 private:
  Answer answer_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::vector<Seen> seen_;
};

void Reply(httplib::Response& res, int status, const std::string& body,
           const char* type = "application/json") {
  res.status = status;
  res.set_content(body, type);
}

Config FastConfig(int retries) {
  Config config;
  config.source = "test";
  config.retries = retries;
  config.timeout = std::chrono::seconds(5);
  config.backoff = milliseconds(10);
  return config;
}

Channel Http(const std::string& kind, const std::string& url,
             const std::string& token_file = "") {
  Channel ch;
  ch.kind = kind;
  ch.url = url;
  ch.token_file = token_file;
  return ch;
}

TEST_CASE("a webhook gets the notice as JSON with the bearer token",
          "[notify][integration]") {
  const std::string token = "whk-planted-5f1e2d3c4b5a69788796";
  testing::TempDir dir;
  std::string token_file = dir.WriteFile("webhook_token", "\n " + token + "\n");
  Receiver hook([](int, const auto&, auto& res) { Reply(res, 204, ""); });
  testing::LogCapture log;
  Notice n = FailedNotice();

  Status s = Deliver(FastConfig(3),
                     Http("webhook", hook.Url("/hpc?src=1"), token_file), n);
  REQUIRE(s.ok());
  auto seen = hook.seen();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].path == "/hpc");
  CHECK(seen[0].Header("Authorization") == "Bearer " + token);
  CHECK(seen[0].Header("Content-Type") == "application/json");
  CHECK_THAT(seen[0].Header("User-Agent"), Contains("hpc-mcp/"));
  CHECK(json::parse(seen[0].body) == NoticeJson(n));
  CHECK_THAT(log.text(), Contains("delivered") && !Contains(token));
}

TEST_CASE("ntfy gets the text with Title, Priority and Tags",
          "[notify][integration]") {
  Receiver ntfy([](int, const auto&, auto& res) {
    Reply(res, 200, R"({"id":"x1","event":"message"})");
  });
  Notice n = FailedNotice();
  REQUIRE(Deliver(FastConfig(1), Http("ntfy", ntfy.Url("/my-runs")), n).ok());
  Notice done;
  done.event = "run_finished";
  done.run_name = "bert";
  REQUIRE(
      Deliver(FastConfig(1), Http("ntfy", ntfy.Url("/my-runs")), done).ok());

  auto seen = ntfy.seen();
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].path == "/my-runs");
  CHECK(seen[0].Header("Title") ==
        "hpc-mcp: run bert failed (out_of_memory) after 3h12m");
  CHECK(seen[0].Header("Priority") == "high");
  CHECK(seen[0].Header("Tags") == "x,run_failed");
  CHECK_THAT(seen[0].Header("Content-Type"), Contains("text/plain"));
  CHECK_FALSE(seen[0].headers.count("Authorization"));
  std::string text = NoticeText(n);
  CHECK(seen[0].body == text.substr(text.find('\n') + 1));  // Title has line 1.

  CHECK(seen[1].Header("Priority") == "default");
  CHECK(seen[1].Header("Tags") == "white_check_mark,run_finished");
  CHECK(seen[1].body == "hpc-mcp: run bert finished");  // Nothing but a title.
}

TEST_CASE("telegram: the token only in the path, ok:false an error without it",
          "[notify][integration]") {
  const std::string token = "123456789:AAF-planted_telegram-Token0xyz";
  testing::TempDir dir;
  std::string token_file = dir.WriteFile("bot", token + "\n");
  Receiver api([&](int n, const httplib::Request& req, httplib::Response& res) {
    if (req.path != "/tg/bot" + token + "/sendMessage")
      return Reply(
          res, 404,
          R"({"ok":false,"error_code":404,"description":"Not Found"})");
    if (n == 1)
      return Reply(res, 200, R"({"ok":true,"result":{"message_id":1}})");
    Reply(
        res, 400,
        R"({"ok":false,"error_code":400,"description":"Bad Request: chat not found"})");
  });
  testing::LogCapture log;
  Channel ch;
  ch.kind = "telegram";
  ch.chat_id = "123456789";
  ch.token_file = token_file;
  ch.api_base = api.Url("/tg/");
  Notice n = FailedNotice();

  REQUIRE(Deliver(FastConfig(3), ch, n).ok());
  Status s = Deliver(FastConfig(3), ch, n);
  REQUIRE_FALSE(s.ok());
  CHECK_THAT(s.message(),
             Contains("telegram chat 123456789") &&
                 Contains("HTTP 400: Bad Request: chat not found") &&
                 Contains("not retried") && !Contains(token));
  CHECK_THAT(s.remediation(), Contains("chat_id"));
  CHECK_FALSE(s.retry_safe());

  auto seen = api.seen();
  REQUIRE(seen.size() == 2);  // The 400 was not repeated.
  json body = json::parse(seen[0].body);
  CHECK(body["chat_id"] == 123456789);
  CHECK(body["text"] == NoticeText(n));
  CHECK(body["disable_web_page_preview"] == true);
  CHECK(seen[0].Header("Content-Type") == "application/json");
  CHECK_THAT(log.text(), !Contains(token));
}

TEST_CASE("a 500 is retried: delivered on the third attempt",
          "[notify][integration]") {
  Receiver hook([](int n, const auto&, auto& res) {
    if (n <= 2) return Reply(res, 500, "busy", "text/plain");
    Reply(res, 200, "{}");
  });
  auto start = Clock::now();
  REQUIRE(
      Deliver(FastConfig(3), Http("webhook", hook.Url("/h")), FailedNotice())
          .ok());
  CHECK(hook.seen().size() == 3);
  CHECK(Clock::now() - start < std::chrono::seconds(3));
}

TEST_CASE("the first retry waits 1 s by default", "[notify][integration]") {
  Receiver hook([](int n, const auto&, auto& res) {
    Reply(res, n == 1 ? 503 : 200, "{}");
  });
  Config config;  // The shipped defaults but for the attempt count.
  config.retries = 2;
  auto start = Clock::now();
  REQUIRE(
      Deliver(config, Http("webhook", hook.Url("/h")), FailedNotice()).ok());
  auto took = Clock::now() - start;
  CHECK(hook.seen().size() == 2);
  CHECK(took >= milliseconds(950));
  CHECK(took < milliseconds(4000));
}

TEST_CASE("a 400 is not retried, and the error says so",
          "[notify][integration]") {
  Receiver hook([](int, const auto&, auto& res) {
    Reply(res, 400, R"({"error":"unknown field"})");
  });
  Status s =
      Deliver(FastConfig(3), Http("webhook", hook.Url("/h")), FailedNotice());
  REQUIRE_FALSE(s.ok());
  CHECK(hook.seen().size() == 1);
  CHECK(s.code() == StatusCode::kFailedPrecondition);
  CHECK_THAT(s.message(), Contains("after 1 attempt: HTTP 400") &&
                              Contains("unknown field") &&
                              Contains("not retried"));
}

TEST_CASE("an unreachable port is an error naming the channel",
          "[notify][integration]") {
  // A bound socket that never listens: connecting to it is refused, and no
  // other process can take the port meanwhile.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  std::string port = std::to_string(ntohs(addr.sin_port));

  Status s =
      Deliver(FastConfig(2),
              Http("webhook", "http://127.0.0.1:" + port + "/hook/secret"),
              FailedNotice());
  ::close(fd);
  REQUIRE_FALSE(s.ok());
  CHECK(s.code() == StatusCode::kUnavailable);
  CHECK(s.retry_safe());
  CHECK(s.reason() == "notify_unreachable");
  CHECK_THAT(s.message(), Contains("webhook http://127.0.0.1:" + port +
                                   "/...: not delivered "
                                   "after 2 attempts: could not connect") &&
                              !Contains("secret"));
}

TEST_CASE("an attempt is bounded by the timeout", "[notify][integration]") {
  Receiver slow([](int, const auto&, auto& res) {
    std::this_thread::sleep_for(milliseconds(2500));
    Reply(res, 200, "{}");
  });
  Config config = FastConfig(1);
  config.timeout = std::chrono::seconds(1);
  auto start = Clock::now();
  Status s = Deliver(config, Http("ntfy", slow.Url("/t")), FailedNotice());
  CHECK(Clock::now() - start < milliseconds(2400));
  REQUIRE_FALSE(s.ok());
  CHECK_THAT(s.message(), Contains("no answer within 1 s"));
}

TEST_CASE("a planted token never reaches an error or the log",
          "[notify][integration]") {
  const std::string token = "tk_planted0ntfy0token0AbCdEfGh";
  testing::TempDir dir;
  std::string token_file = dir.WriteFile("ntfy_token", token);
  // A server that quotes the request's credentials back in its error.
  Receiver echo([](int, const httplib::Request& req, httplib::Response& res) {
    Reply(
        res, 401,
        "unauthorized: " + req.get_header_value("Authorization") + " rejected",
        "text/plain");
  });
  testing::LogCapture log;
  Status s = Deliver(FastConfig(3), Http("ntfy", echo.Url("/t"), token_file),
                     FailedNotice());
  REQUIRE_FALSE(s.ok());
  CHECK(echo.seen().at(0).Header("Authorization") == "Bearer " + token);
  CHECK_THAT(s.message(),
             Contains("HTTP 401: unauthorized:") && !Contains(token));
  CHECK_THAT(s.remediation(), Contains("token_file"));
  CHECK_THAT(log.text(), Contains("HTTP 401") && !Contains(token));

  SECTION("a token file holding more than the token is refused unquoted") {
    std::string two =
        dir.WriteFile("two_lines", token + "\nsecond-line-secret\n");
    Status bad = Deliver(FastConfig(1), Http("ntfy", echo.Url("/t"), two),
                         FailedNotice());
    REQUIRE_FALSE(bad.ok());
    CHECK_THAT(bad.message(), Contains(two) && Contains("more than one word") &&
                                  !Contains(token) && !Contains("second-line"));
    CHECK(echo.seen().size() == 1);  // Nothing was sent.
  }
  SECTION("a missing token file is named") {
    Status missing = Deliver(FastConfig(1),
                             Http("ntfy", echo.Url("/t"), dir.path() / "none"),
                             FailedNotice());
    REQUIRE_FALSE(missing.ok());
    CHECK_THAT(missing.message(), Contains("none cannot be read"));
  }
}

TEST_CASE("a command gets the text on stdin and the fields in its environment",
          "[notify][integration]") {
  testing::TempDir dir;
  std::string out = (dir.path() / "got").string();
  std::string script = dir.WriteFile(
      "notify.sh",
      "cat > \"$1.stdin\"\n"
      "env | grep -E '^HPC_MCP_(EVENT|RUN_ID|RUN_NAME|STATE|REPO|NOTICE_KEY)=' "
      "| sort > \"$1.env\"\n");
  Channel ch;
  ch.kind = "command";
  ch.argv = {"/bin/sh", script, out};
  Notice n = FailedNotice();
  n.state.clear();  // Set anyway, empty.
  REQUIRE(Deliver(FastConfig(1), ch, n).ok());
  CHECK(testing::ReadAll(out + ".stdin") == NoticeText(n) + "\n");
  CHECK(testing::ReadAll(out + ".env") ==
        "HPC_MCP_EVENT=run_failed\n"
        "HPC_MCP_NOTICE_KEY=j1:20261123-bert-a1b2:run_failed:1\n"
        "HPC_MCP_REPO=/home/ada/bert\n"
        "HPC_MCP_RUN_ID=20261123-bert-a1b2\n"
        "HPC_MCP_RUN_NAME=bert\n"
        "HPC_MCP_STATE=\n");
}

TEST_CASE("a failing command is retried; a missing one is not",
          "[notify][integration]") {
  testing::TempDir dir;
  std::string count = (dir.path() / "count").string();
  Channel failing;
  failing.kind = "command";
  failing.argv = {"/bin/sh", "-c", "echo run >> \"$0\"; echo boom >&2; exit 3",
                  count};
  Status s = Deliver(FastConfig(2), failing, FailedNotice());
  REQUIRE_FALSE(s.ok());
  CHECK(testing::ReadAll(count) == "run\nrun\n");
  CHECK_THAT(s.message(), Contains("command /bin/sh: not delivered after 2 "
                                   "attempts: exited with status 3: boom"));

  Channel missing;
  missing.kind = "command";
  missing.argv = {(dir.path() / "no-such-notifier").string()};
  Status m = Deliver(FastConfig(3), missing, FailedNotice());
  REQUIRE_FALSE(m.ok());
  CHECK_THAT(m.message(),
             Contains("after 1 attempt") && Contains("not retried"));
  CHECK_THAT(m.remediation(), Contains("argv"));
}

}  // namespace
}  // namespace hpc::notify
