#include "tools/runlog/human_date.h"

#include <cstdio>
#include <ctime>

namespace hpc::runlog {
namespace {

constexpr const char* kWeekdays[] = {"Sunday",    "Monday",   "Tuesday",
                                     "Wednesday", "Thursday", "Friday",
                                     "Saturday"};
constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

std::tm Utc(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return tm;
}

std::string Format(const char* fmt, int64_t unix_seconds) {
  std::tm tm = Utc(unix_seconds);
  char buf[64];
  size_t n = std::strftime(buf, sizeof buf, fmt, &tm);
  return std::string(buf, n);
}

}  // namespace

std::string Ordinal(int day) {
  const int tens = day % 100;
  const char* suffix = "th";
  if (tens < 11 || tens > 13) {
    switch (day % 10) {
      case 1:
        suffix = "st";
        break;
      case 2:
        suffix = "nd";
        break;
      case 3:
        suffix = "rd";
        break;
      default:
        break;
    }
  }
  return std::to_string(day) + suffix;
}

std::string HumanDate(int64_t unix_seconds) {
  std::tm tm = Utc(unix_seconds);
  return std::string(kWeekdays[tm.tm_wday]) + ", " + kMonths[tm.tm_mon] + " " +
         Ordinal(tm.tm_mday) + ", " + std::to_string(tm.tm_year + 1900);
}

std::optional<std::string> HumanDay(std::string_view day) {
  if (day.size() != 10 || day[4] != '-' || day[7] != '-') return std::nullopt;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (day[i] < '0' || day[i] > '9') return std::nullopt;
  auto num = [&](size_t at, size_t len) {
    int v = 0;
    for (size_t i = at; i < at + len; ++i) v = v * 10 + (day[i] - '0');
    return v;
  };
  std::tm tm{};
  tm.tm_year = num(0, 4) - 1900;
  tm.tm_mon = num(5, 2) - 1;
  tm.tm_mday = num(8, 2);
  tm.tm_hour = 12;  // Midday: far from any boundary.
  const std::tm asked = tm;
  const int64_t t = static_cast<int64_t>(timegm(&tm));
  // timegm normalizes Feb 30th to Mar 2nd: such a day is not a date.
  if (tm.tm_mon != asked.tm_mon || tm.tm_mday != asked.tm_mday)
    return std::nullopt;
  return HumanDate(t);
}

std::string IsoUtc(int64_t unix_seconds) {
  return Format("%Y-%m-%dT%H:%M:%SZ", unix_seconds);
}

std::string DayUtc(int64_t unix_seconds) {
  return Format("%Y-%m-%d", unix_seconds);
}

std::string MinuteUtc(int64_t unix_seconds) {
  return Format("%Y-%m-%d %H:%M UTC", unix_seconds);
}

std::string Hms(int64_t seconds) {
  if (seconds < 0) seconds = 0;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld",
                static_cast<long long>(seconds / 3600),
                static_cast<long long>(seconds / 60 % 60),
                static_cast<long long>(seconds % 60));
  return buf;
}

}  // namespace hpc::runlog
