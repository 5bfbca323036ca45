#include "tools/cluster/text.h"

#include <algorithm>

#include <charconv>
#include <cstdio>
#include <ctime>

namespace hpc::cluster::text {

std::string_view Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r' || s[b] == '\n'))
    ++b;
  while (e > b &&
         (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r' ||
          s[e - 1] == '\n'))
    --e;
  return s.substr(b, e - b);
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t p = s.find(sep, start);
    if (p == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, p - start));
    start = p + 1;
  }
}

std::vector<std::string_view> Lines(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start < s.size()) {
    size_t p = s.find('\n', start);
    std::string_view line =
        s.substr(start, p == std::string_view::npos ? s.npos : p - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    out.push_back(line);
    if (p == std::string_view::npos) break;
    start = p + 1;
  }
  return out;
}

std::optional<int64_t> ParseInt(std::string_view s) {
  if (s.empty()) return std::nullopt;
  const char* b = s.data();
  if (*b == '+') ++b;
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(b, s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool Contains(std::string_view s, std::string_view needle) {
  return s.find(needle) != std::string_view::npos;
}

std::optional<int64_t> EpochFromCivil(int y, int m, int d, int hh, int mm,
                                      int ss, int utc_offset_seconds) {
  if (m < 1 || m > 12 || d < 1 || d > 31 || hh < 0 || hh > 23 || mm < 0 ||
      mm > 59 || ss < 0 || ss > 60 || y < 1970 || y > 9999)
    return std::nullopt;
  // Days from civil (Howard Hinnant's algorithm): no time zone database, no
  // dependence on this process's TZ.
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const int64_t days = era * 146097 + doe - 719468;
  return days * 86400 + hh * 3600 + mm * 60 + ss - utc_offset_seconds;
}

namespace {

int MonthFromName(std::string_view name) {
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr",
                                            "May", "Jun", "Jul", "Aug",
                                            "Sep", "Oct", "Nov", "Dec"};
  for (int i = 0; i < 12; ++i)
    if (name == kMonths[i]) return i + 1;
  return 0;
}

}  // namespace

std::optional<int64_t> ParseTimestamp(std::string_view s,
                                      int utc_offset_seconds) {
  s = Trim(s);
  if (s.empty()) return std::nullopt;
  bool digits = true;
  for (char c : s) digits = digits && c >= '0' && c <= '9';
  if (digits) {
    auto v = ParseInt(s);
    // Slurm prints 0 for "never"; SGE prints 0 for unset times too.
    if (!v || *v <= 0) return std::nullopt;
    return v;
  }
  std::string z(s);
  int y, mo, d, h, mi, se;
  char month[4] = {0};
  char weekday[4] = {0};
  // sscanf never throws and tells how many fields matched; %n checks that
  // the whole date part was consumed where a fraction may follow.
  int n = 0;
  if (std::sscanf(z.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi,
                  &se, &n) == 6 &&
      (z[n] == '\0' || z[n] == '.'))
    return EpochFromCivil(y, mo, d, h, mi, se, utc_offset_seconds);
  if (std::sscanf(z.c_str(), "%2d/%2d/%4d %2d:%2d:%2d%n", &mo, &d, &y, &h, &mi,
                  &se, &n) == 6 &&
      (z[n] == '\0' || z[n] == '.'))
    return EpochFromCivil(y, mo, d, h, mi, se, utc_offset_seconds);
  if (std::sscanf(z.c_str(), "%3s %3s %d %d:%d:%d %d%n", weekday, month, &d, &h,
                  &mi, &se, &y, &n) == 7 &&
      z[n] == '\0') {
    int m = MonthFromName(month);
    if (m == 0) return std::nullopt;
    return EpochFromCivil(y, m, d, h, mi, se, utc_offset_seconds);
  }
  return std::nullopt;
}

std::optional<int> ParseUtcOffset(std::string_view s) {
  s = Trim(s);
  if (s.size() != 5 || (s[0] != '+' && s[0] != '-')) return std::nullopt;
  auto hh = ParseInt(s.substr(1, 2));
  auto mm = ParseInt(s.substr(3, 2));
  if (!hh || !mm || *hh > 14 || *mm > 59) return std::nullopt;
  int v = static_cast<int>(*hh * 3600 + *mm * 60);
  return s[0] == '-' ? -v : v;
}

int LocalUtcOffset() {
  std::time_t now = std::time(nullptr);
  std::tm local{};
  ::localtime_r(&now, &local);
  return static_cast<int>(local.tm_gmtoff);
}

Result<std::string> SubmittedJobId(std::string_view out, char separator,
                                   std::string_view command) {
  std::string_view last;
  for (std::string_view line : Lines(out))
    if (!Trim(line).empty()) last = Trim(line);
  std::string_view id = last.substr(0, last.find(separator));
  if (id.empty() || !std::all_of(id.begin(), id.end(),
                                 [](char c) { return c >= '0' && c <= '9'; }))
    return Internal("unexpected " + std::string(command) + " output: \"" +
                    std::string(out.substr(0, 200)) + "\"");
  return std::string(id);
}

}  // namespace hpc::cluster::text
