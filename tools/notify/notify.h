// Notifications: short messages to a human about what happened to their
// runs, over a webhook (JSON POST), ntfy, a Telegram bot, or a command of
// the user's. The patrol (tools/patrol/patrol.h) decides what to announce
// and makes sure each notice goes out once; this library only renders and
// delivers.
//
// Configuration (YAML, validated by schemas/notify.json): which events,
// and the channels. Secrets (bot tokens, ntfy/webhook tokens) are read from
// the files the config names, registered with the redaction pass
// (mcp_server/redact.h) when read, and never appear in a message, a log
// line, a journal event or an error.
//
//   events: [run_failed, health_failed, run_finished]   # default: all but run_started
//   channels:
//     - kind: webhook
//       url: https://hooks.example.org/hpc            # POST, JSON body (NoticeJson)
//       token_file: ~/.config/hpc-mcp/webhook_token   # optional: Authorization: Bearer
//     - kind: ntfy
//       url: https://ntfy.sh/my-runs                  # server and topic
//       token_file: ~/.config/hpc-mcp/ntfy_token      # optional
//     - kind: telegram
//       chat_id: "123456789"
//       token_file: ~/.config/hpc-mcp/telegram_bot_token
//       api_base: https://api.telegram.org            # default; tests point it at loopback
//     - kind: command
//       argv: [notify-send, hpc-mcp]                  # text on stdin, fields in HPC_MCP_* env
//       events: [run_failed]                          # optional per-channel filter
//   retries: 3            # attempts per channel and notice (default 3)
//   timeout_s: 10         # per attempt (default 10)
//
// Thread-safety: Deliver may run concurrently.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "mcp_server/status.h"

namespace hpc::notify {

// The events a user may select, as written in the config.
inline constexpr const char* kEvents[] = {
    "run_started",    // pending -> running (first time)
    "run_finished",   // completed
    "run_failed",     // failed, timeout, out_of_memory, node_fail,
                      // preempted, submit_failed, cancelled by someone else
    "health_failed",  // a health check turned to fail (nan_loss, stalled...)
    "sweep_done",     // every task of a sweep ended (issue 7 emits it)
};

struct Channel {
  std::string kind;  // webhook | ntfy | telegram | command
  std::string url;   // webhook, ntfy
  std::string token_file;  // ~ expanded; empty: none (telegram: required)
  std::string chat_id;     // telegram
  std::string api_base = "https://api.telegram.org";  // telegram
  std::vector<std::string> argv;                       // command
  std::vector<std::string> events;  // Empty: the config's events.
  // "webhook https://hooks.example.org/..." without secrets, for logs.
  std::string Describe() const;
};

struct Config {
  std::string source;  // The file it was read from.
  std::vector<std::string> events;
  std::vector<Channel> channels;
  int retries = 3;
  std::chrono::seconds timeout{10};
  // Test-only: the wait before the second attempt (doubling after each
  // further failure, capped by `timeout`). Not in the config file.
  std::chrono::milliseconds backoff{1000};
  // Whether `event` goes to `channel` (its own filter, else the config's).
  bool Wants(const Channel& channel, const std::string& event) const;
};

// Parses and validates a config document; errors name `source`, the field
// and what to write instead. Token files are not read here.
Result<Config> ParseConfig(std::string_view yaml_text, std::string_view source);
// Reads `path` (~ expanded) and parses it. NotFound when it does not exist.
Result<Config> LoadConfig(const std::string& path);
// The default config path: $XDG_CONFIG_HOME/hpc-mcp/notify.yaml, else
// ~/.config/hpc-mcp/notify.yaml.
std::string DefaultConfigPath();

// One thing to tell the human. Fields are plain facts; empty ones are left
// out of every rendering.
struct Notice {
  std::string key;    // Unique per notice: "<repo journal id>:<run>:<event>:<seq>".
  std::string event;  // One of kEvents.
  std::string repo;   // Absolute path.
  std::string run_id, run_name, profile, state;
  std::string runtime;     // "3h12m"
  std::string last_step;   // "48000/100000"
  std::string last_metric; // "loss 2.31"
  std::string diagnosis;   // "gpu_oom: CUDA out of memory"
  std::string evidence;    // The diagnosis's first evidence line.
  std::string next;        // What to do: the diagnosis's remediation.
  std::string at;          // ISO-8601 UTC time of the journal event.
};

// At most 5 short lines: "<emoji-free title>: run <name> <state> after
// <runtime>", step and metric, diagnosis with its first evidence line,
// what to do. Plain text (Telegram and ntfy send it as is).
std::string NoticeText(const Notice& n);
// {"event", "key", "repo", "run_id", ..., "text"}: the webhook body.
nlohmann::json NoticeJson(const Notice& n);

// Delivers `n` on `channel`: up to config.retries attempts with backoff
// (1 s, 2 s, 4 s... capped by the config timeout), each bounded by
// config.timeout. Ok when one attempt was accepted (HTTP 2xx; Telegram's
// {"ok":true}; command exit 0). The error names the channel (Describe) and
// the last failure, never a secret.
Status Deliver(const Config& config, const Channel& channel, const Notice& n);

}  // namespace hpc::notify
