// Deliver: one notice on one channel, with retries. Each kind turns the
// notice into one request (or one command run); the loop here repeats it
// while the failure is one that another attempt may cure.
//
// Secrets: a token is read from its file once per Deliver, registered with
// the redaction pass at once, and placed only in a request header or (for
// Telegram) the request path. Errors and log lines are built from
// Channel::Describe and from our own words, never from a URL.

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "mcp_server/redact.h"
#include "tools/notify/internal.h"
#include "tools/notify/notify.h"
#include "tools/remote/local_process.h"

namespace hpc::notify {
namespace {

using internal::Attempt;
using internal::HttpPost;
using internal::HttpReply;
using nlohmann::json;

constexpr off_t kMaxTokenBytes = 64 * 1024;

// The token in `path`, trimmed. A token file that others can read deserves
// a chmod 600, but refusing to send a failure notice over it would punish
// the user at the worst moment, so the mode is not checked.
Result<std::string> ReadToken(const std::string& path) {
  const std::string p = internal::ExpandHome(path);
  const std::string fix = "; put only the token in it (chmod 600)";
  struct stat st;
  if (p.empty() || ::stat(p.c_str(), &st) != 0)
    return FailedPrecondition(
        "token_file " + path + " cannot be read (" +
        (p.empty() ? "HOME is not set" : std::strerror(errno)) + ")" + fix);
  if (!S_ISREG(st.st_mode))
    return FailedPrecondition("token_file " + path + " is not a regular file" +
                              fix);
  if (st.st_size > kMaxTokenBytes)
    return FailedPrecondition("token_file " + path + " is larger than 64 KiB" +
                              fix);
  std::ifstream in(p, std::ios::binary);
  if (!in)
    return FailedPrecondition("token_file " + path + " cannot be opened" + fix);
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string token = buffer.str();
  const char* kSpace = " \t\r\n\v\f";
  token.erase(0, std::min(token.find_first_not_of(kSpace), token.size()));
  token.erase(token.find_last_not_of(kSpace) + 1);
  mcp::RegisterSecret(token);  // Before any check can quote the file.
  if (token.empty())
    return FailedPrecondition("token_file " + path + " is empty" + fix);
  // A space, line break or control character inside would end up in an HTTP
  // header or path; it means the file holds more than the token.
  if (std::any_of(token.begin(), token.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return u <= 0x20 || u == 0x7F;
      }))
    return FailedPrecondition("token_file " + path +
                              " holds more than one word" + fix);
  return token;
}

std::string Bearer(const std::string& token) { return "Bearer " + token; }

// One attempt, judged. Telegram judges its own answers.
using Once = std::function<Attempt()>;
using Judge = std::function<Attempt(const HttpReply&)>;

Once HttpOnce(HttpPost post, std::chrono::seconds timeout, Judge judge) {
  return [post = std::move(post), timeout, judge = std::move(judge)] {
    HttpReply reply;
    Attempt sent = internal::PostOnce(post, timeout, &reply);
    return sent.ok ? judge(reply) : sent;
  };
}

Attempt JudgePlain(const HttpReply& reply) {
  return internal::JudgeStatus(reply.status, reply.body);
}

// The Bot API answers {"ok": true, "result": ...} or {"ok": false,
// "error_code": 400, "description": "Bad Request: chat not found"}.
Attempt JudgeTelegram(const HttpReply& reply, const std::string& token_file) {
  json j = json::parse(reply.body, nullptr, /*allow_exceptions=*/false);
  bool ok = j.is_object() && j.contains("ok") && j["ok"] == true;
  if (reply.status == 200 && ok) return Attempt::Ok();
  std::string description;
  if (j.is_object() && j.contains("description") &&
      j["description"].is_string())
    description = j["description"].get<std::string>();
  if (reply.status == 200)
    return Attempt::Fail(
        false, "Telegram answered HTTP 200 without \"ok\": true",
        "check api_base: it must be a Bot API server", "notify_rejected");
  Attempt a = internal::JudgeStatus(
      reply.status, description.empty() ? reply.body : description);
  a.error = "Telegram answered " + a.error;
  if (reply.status == 401 || reply.status == 404)
    a.hint = "Telegram does not know the bot token in " + token_file +
             ": put the token @BotFather gave you in it";
  else if (reply.status == 400)
    a.hint =
        "check chat_id: send your bot a message first, then read "
        "chat.id from getUpdates";
  else if (reply.status == 403)
    a.hint =
        "the bot may not write to this chat (blocked, or not a member): "
        "start a chat with it or add it to the group";
  return a;
}

// ntfy's publish API (docs.ntfy.sh/publish): the message is the request
// body of a POST to the topic URL; "To override the title, you can set the
// X-Title header (or any of its aliases: Title, ti, or t)"; "You can set
// the priority with the header X-Priority (or any of its aliases: Priority,
// prio, or p)", named min, low, default, high, max/urgent; "You can set
// tags with the X-Tags header (or any of its aliases: Tags, tag, or ta).
// Specify multiple tags by separating them with a comma"; a tag that is an
// emoji short code is shown as the emoji. Access tokens go in
// "Authorization: Bearer tk_...".
HttpPost NtfyPost(const internal::HttpUrl& url, const Notice& n,
                  const std::string& token) {
  HttpPost post{url, "", {}, "", "text/plain; charset=utf-8"};
  bool urgent = n.event == "run_failed" || n.event == "health_failed";
  const char* emoji = n.event == "run_failed"      ? "x"
                      : n.event == "health_failed" ? "warning"
                      : n.event == "run_finished"  ? "white_check_mark"
                      : n.event == "sweep_done"    ? "checkered_flag"
                                                   : "arrow_forward";
  post.headers = {
      {"Title", internal::NoticeTitle(n)},
      {"Priority", urgent ? "high" : "default"},
      {"Tags", std::string(emoji) + "," + internal::OneLine(n.event, 64)}};
  if (!token.empty()) post.headers.emplace_back("Authorization", Bearer(token));
  // The Title header carries the first line; the body carries the rest
  // (ntfy shows both), or the title again when there is nothing more.
  std::string text = NoticeText(n);
  size_t newline = text.find('\n');
  post.body = newline == std::string::npos ? text : text.substr(newline + 1);
  return post;
}

// Telegram Bot API: "All queries to the Telegram Bot API must be served over
// HTTPS and need to be presented in this form:
// https://api.telegram.org/bot<token>/METHOD_NAME"; parameters may be sent
// as application/json. sendMessage takes chat_id ("Integer or String":
// a number, or @channelusername) and text; disable_web_page_preview keeps
// a URL in the text from growing a preview card.
HttpPost TelegramPost(const internal::HttpUrl& base, const Channel& ch,
                      const Notice& n, const std::string& token) {
  std::string prefix = base.path;
  if (size_t q = prefix.find('?'); q != std::string::npos) prefix.resize(q);
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  json body = {{"text", NoticeText(n)}, {"disable_web_page_preview", true}};
  bool numeric = !ch.chat_id.empty() && ch.chat_id.find_first_not_of(
                                            "-0123456789") == std::string::npos;
  if (numeric) {
    try {
      body["chat_id"] = std::stoll(ch.chat_id);
    } catch (const std::exception&) {
      body["chat_id"] = ch.chat_id;  // Out of range: let Telegram judge it.
    }
  } else {
    body["chat_id"] = ch.chat_id;
  }
  return HttpPost{base,
                  prefix + "/bot" + token + "/sendMessage",
                  {},
                  body.dump(-1, ' ', false, json::error_handler_t::replace),
                  "application/json"};
}

Attempt CommandOnce(const Config& config, const Channel& ch, const Notice& n) {
  remote::ProcessSpec spec;
  spec.argv = ch.argv;
  spec.stdin_data = NoticeText(n) + "\n";
  spec.timeout = config.timeout;
  spec.max_output = 64 * 1024;
  // Every variable is set, empty ones too, so that none leaks in from the
  // server's own environment.
  spec.env = {{"HPC_MCP_EVENT", n.event},       {"HPC_MCP_RUN_ID", n.run_id},
              {"HPC_MCP_RUN_NAME", n.run_name}, {"HPC_MCP_STATE", n.state},
              {"HPC_MCP_REPO", n.repo},         {"HPC_MCP_NOTICE_KEY", n.key}};
  auto result = remote::RunProcess(spec);
  if (!result.ok()) {
    const Status& s = result.status();
    if (s.reason() == "timeout")
      return Attempt::Fail(true,
                           "ran past timeout_s (" +
                               std::to_string(config.timeout.count()) +
                               " s) and was killed",
                           "make the command finish sooner or raise timeout_s",
                           "notify_command_failed");
    // Could not start (missing program, ...): the same next time.
    return Attempt::Fail(s.reason() != "command_failed",
                         mcp::Redact(internal::OneLine(s.message(), 300)),
                         "check argv: the program must exist and be "
                         "executable (argv[0] is looked up in PATH)",
                         "notify_command_failed");
  }
  if (result->exit_code == 0) return Attempt::Ok();
  std::string how =
      result->signal != 0
          ? "was killed by signal " + std::to_string(result->signal)
          : "exited with status " + std::to_string(result->exit_code);
  std::string err = result->err;
  while (!err.empty() && (err.back() == '\n' || err.back() == '\r'))
    err.pop_back();
  if (size_t nl = err.find_last_of('\n'); nl != std::string::npos)
    err = err.substr(nl + 1);
  if (!err.empty()) how += ": " + mcp::Redact(internal::OneLine(err, 200));
  return Attempt::Fail(true, how,
                       "run the command by hand with a notice on stdin to see "
                       "why it fails",
                       "notify_command_failed");
}

// The attempt for `channel`, or why none can be made.
Result<Once> Prepare(const Config& config, const Channel& ch, const Notice& n) {
  std::string token;
  if (!ch.token_file.empty()) {
    auto read = ReadToken(ch.token_file);
    if (!read.ok()) return read.status();
    token = std::move(*read);
  }
  if (ch.kind == "command") {
    if (ch.argv.empty())
      return InvalidArgument("argv is empty; name a program");
    return Once([&config, &ch, &n] { return CommandOnce(config, ch, n); });
  }
  if (ch.kind == "telegram") {
    if (token.empty()) return InvalidArgument("telegram needs token_file");
    auto base = internal::ParseHttpUrl(ch.api_base);
    if (!base.ok())
      return InvalidArgument("api_base " + base.status().message());
    const std::string file = ch.token_file;
    return HttpOnce(
        TelegramPost(*base, ch, n, token), config.timeout,
        [file](const HttpReply& r) { return JudgeTelegram(r, file); });
  }
  auto url = internal::ParseHttpUrl(ch.url);
  if (!url.ok()) return InvalidArgument("url " + url.status().message());
  if (ch.kind == "ntfy")
    return HttpOnce(NtfyPost(*url, n, token), config.timeout, JudgePlain);
  if (ch.kind == "webhook") {
    HttpPost post{*url, "", {}, "", "application/json"};
    post.body =
        NoticeJson(n).dump(-1, ' ', false, json::error_handler_t::replace);
    if (!token.empty())
      post.headers.emplace_back("Authorization", Bearer(token));
    return HttpOnce(std::move(post), config.timeout, JudgePlain);
  }
  return InvalidArgument("unknown kind \"" + ch.kind +
                         "\"; write webhook, ntfy, telegram or command");
}

Status DeliverImpl(const Config& config, const Channel& channel,
                   const Notice& n) {
  const std::string who = channel.Describe();
  auto once = Prepare(config, channel, n);
  if (!once.ok()) {
    Status s(once.status().code(),
             who + ": not delivered: " + once.status().message());
    spdlog::warn("notify: {}", s.message());
    return std::move(s).WithReason(
        "notify_config", false,
        "fix the channel in " + (config.source.empty()
                                     ? std::string("the notification config")
                                     : config.source));
  }
  const int attempts = std::max(1, config.retries);
  Attempt last;
  int made = 0;
  for (int i = 0; i < attempts; ++i) {
    last = (*once)();
    ++made;
    if (last.ok) {
      spdlog::info("notify: {} delivered on {} (attempt {} of {})", n.event,
                   who, made, attempts);
      return Status::Ok();
    }
    if (!last.retry || made == attempts) break;
    auto wait = std::min<std::chrono::milliseconds>(
        config.backoff * (1LL << std::min(i, 20)), config.timeout);
    spdlog::warn("notify: {}: attempt {} of {} failed: {}; next in {} ms", who,
                 made, attempts, last.error, wait.count());
    std::this_thread::sleep_for(wait);
  }
  std::string message = who + ": not delivered after " + std::to_string(made) +
                        (made == 1 ? " attempt: " : " attempts: ") + last.error;
  if (!last.retry && made < attempts)
    message += " (not retried: another attempt would get the same answer)";
  message += "; " + last.hint;
  spdlog::warn("notify: {}", message);
  Status s = last.retry ? Unavailable(message) : FailedPrecondition(message);
  return std::move(s).WithReason(last.reason, last.retry, last.hint);
}

}  // namespace

Status Deliver(const Config& config, const Channel& channel, const Notice& n) {
  try {
    return DeliverImpl(config, channel, n);
  } catch (const std::exception& e) {
    return Internal(channel.Describe() +
                    ": not delivered: " + mcp::Redact(e.what()));
  }
}

}  // namespace hpc::notify
