// Small string helpers shared by the scheduler output parsers. Parsers never
// throw: every conversion here reports failure through its return value.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "mcp_server/status.h"
#include <vector>

namespace hpc::cluster::text {

std::string_view Trim(std::string_view s);
// Splits on every `sep`; keeps empty fields ("a||b" -> a, "", b).
std::vector<std::string_view> Split(std::string_view s, char sep);
// Lines without their '\n' (and a trailing '\r'); no empty last line.
std::vector<std::string_view> Lines(std::string_view s);
std::optional<int64_t> ParseInt(std::string_view s);  // Whole string, base 10.
bool StartsWith(std::string_view s, std::string_view prefix);
bool Contains(std::string_view s, std::string_view needle);

// The job id a submit command printed: the digits before `separator` on the
// last non-empty line ("123;cluster" for sbatch --parsable, "8.1-5:1" for
// qsub -terse). `command` names the command in the error.
Result<std::string> SubmittedJobId(std::string_view out, char separator,
                                   std::string_view command);

// Epoch seconds from a civil date-time, given the UTC offset of the clock
// that printed it (seconds east of UTC); nullopt for an impossible date.
std::optional<int64_t> EpochFromCivil(int year, int month, int day, int hour,
                                      int minute, int second,
                                      int utc_offset_seconds);

// "2026-11-23T10:00:00" (optionally ".123" fraction), "11/23/2026 10:00:00",
// "Sun Nov 23 10:00:00 2026", or plain epoch digits; nullopt otherwise
// (including Slurm's "Unknown", "None", "N/A" and SGE's "-/-").
std::optional<int64_t> ParseTimestamp(std::string_view s,
                                      int utc_offset_seconds);

// Seconds east of UTC for "+0100" / "-0530" as printed by `date +%z`.
std::optional<int> ParseUtcOffset(std::string_view s);

// The UTC offset of this process's local time zone, now.
int LocalUtcOffset();

}  // namespace hpc::cluster::text
