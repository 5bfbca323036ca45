// What the patrol announces, and how each notice goes out exactly once
// however many patrols run at the same time.
//
// A notice is a milestone of the journal (runs/run.h: a run started,
// finished or failed, its health turned to fail) after the repository's
// notify_started point, whoever observed it: a patrol or an agent's poll.
// Its key, "<journal id>:<run>:<event>:<seq of the milestone>", is the
// same in every process because the milestones are a replay.
//
// Exactly once, per channel:
//   1. under an exclusive flock on <state dir>/notify.lock, the journal is
//      re-read and the channels (ChannelName) of the notice that are neither
//      sent nor claimed by a live claim are claimed: one `notice_claimed`
//      event;
//   2. the lock is released, the notice is delivered on those channels
//      (notify::Deliver, with its retries), and each outcome is journaled
//      as `notice_sent` {ok, error}.
// A claim older than kAbandonedAfter whose channel has no notice_sent was
// left by a patrol that died mid-delivery: it may be claimed again. A
// delivery that failed after its retries is final (notice_sent ok: false,
// shown in heartbeat.md); it is not tried again by later passes, so a broken
// channel does not turn every pass into another round of failures.
//
// Thread-safety: Announce may run concurrently in threads and processes;
// the rest are pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tools/notify/notify.h"
#include "tools/runs/run.h"
#include "tools/runs/store.h"

namespace hpc::patrol {

inline constexpr std::chrono::minutes kAbandonedAfter{10};
// A failure is announced once its diagnosis is journaled (the poll that
// saw the end writes it right after), or this long after the failure when
// none comes.
inline constexpr std::chrono::seconds kDiagnosisGrace{120};

// How claims, deliveries and heartbeat.md name a channel: its Describe()
// plus 8 hex digits of a hash of its whole definition ("webhook
// https://hooks.example.org/... #1a2b3c4d"). Describe() alone hides a URL's
// path, so two webhooks on one host would read as one channel and the
// second would never be sent.
std::string ChannelName(const notify::Channel& channel);

// "3h12m", "12m05s", "45s", "2d03h".
std::string FormatDuration(int64_t seconds);

// How long `run` has run as of `now` (unix seconds): the elapsed time the
// scheduler reported, plus the time since for a run still running.
std::optional<int64_t> Runtime(const runs::Run& run, int64_t now);

// The notice of milestone `m` of `run`, filled from the run as the journal
// has it now (its diagnosis, progress and runtime).
notify::Notice MakeNotice(const runs::Run& run, const runs::Milestone& m,
                          const std::string& journal_id,
                          const std::string& repo, int64_t now);

// Milestones of `table` that are notices some channel of `config` wants,
// after notify_from, ready (see kDiagnosisGrace) and not yet handled on
// every channel that wants them. Oldest first.
std::vector<const runs::Milestone*> DueMilestones(const runs::RunTable& table,
                                                  const std::string& journal_id,
                                                  const notify::Config& config,
                                                  int64_t now);

// The channels of `config` wanting `notice` that may be claimed now, given
// what the journal says of it.
std::vector<const notify::Channel*> Claimable(const runs::RunTable& table,
                                              const notify::Notice& notice,
                                              const notify::Config& config,
                                              int64_t now);

struct AnnounceReport {
  int sent = 0, failed = 0;         // Deliveries, per notice and channel.
  std::vector<std::string> errors;  // Journal trouble; delivery failures
                                    // are logged and journaled instead.
};

// Records notify_started once per repository (under notify.lock), so that
// only what happens from now on is announced.
Status StartNotifications(runs::RunStore& store);

// Claims and delivers every due notice of `store`'s repository on the
// channels of `config`, journaling each claim and delivery. `by` names
// this patrol in the claims ("patrol 4242@login1").
AnnounceReport Announce(runs::RunStore& store, const notify::Config& config,
                        const std::string& by);

}  // namespace hpc::patrol
