// Dates and durations as a run log shows them: ISO timestamps for machines,
// "Wednesday, Feb 25th, 2026" for the person who opens the file weeks
// later. Every date is UTC: the server and the cluster may sit in different
// time zones, and a log read by both must mean one instant.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hpc::runlog {

// "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", ...
std::string Ordinal(int day);

// "Wednesday, Feb 25th, 2026" for the UTC day of `unix_seconds`.
std::string HumanDate(int64_t unix_seconds);

// The same for a "yyyy-mm-dd" day (a run log's file name prefix); nullopt
// when `day` is not a valid date of that shape.
std::optional<std::string> HumanDay(std::string_view day);

// "2026-02-25T14:03:07Z".
std::string IsoUtc(int64_t unix_seconds);
// "2026-02-25".
std::string DayUtc(int64_t unix_seconds);
// "2026-02-25 14:03 UTC": a status entry's time, to the minute.
std::string MinuteUtc(int64_t unix_seconds);

// "HH:MM:SS" with hours unbounded ("27:03:00" for a day and three hours),
// as the seed's runtime lines read; negative input is shown as 00:00:00.
std::string Hms(int64_t seconds);

}  // namespace hpc::runlog
