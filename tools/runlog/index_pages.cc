#include "tools/runlog/index_pages.h"

#include <algorithm>

#include "tools/runlog/human_date.h"
#include "tools/runlog/layout.h"
#include "tools/runlog/markers.h"
#include "tools/runs/summary.h"

namespace hpc::runlog {
namespace {

using nlohmann::json;

constexpr char kDash[] = " \xE2\x80\x94 ";

std::string Capitalized(const std::string& group) {
  std::string out;
  bool start = true;
  for (char c : group) {
    if (c == '_' || c == '-' || c == '.') {
      out += ' ';
      start = true;
      continue;
    }
    out += start && c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
    start = false;
  }
  return out;
}

// A table cell: one line, no column separator.
std::string Cell(const std::string& s) {
  std::string out;
  for (char c : InlineText(s))
    out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

// "val_loss 0.028" from the results (end_val_loss, end_train_loss for
// loss) or the last metrics seen.
std::string KeyMetric(const RunLogModel& m) {
  std::string key = m.Note("key_metric");
  if (key.empty()) key = "val_loss";
  const json& r = m.results;
  std::string result_key = key == "val_loss" ? "end_val_loss"
                           : key == "loss" || key == "train_loss"
                               ? "end_train_loss"
                               : "";
  auto show = [&](const json& v) { return key + " " + runs::FormatMetric(v); };
  if (r.is_object()) {
    if (!result_key.empty() && r.contains(result_key))
      return show(r[result_key]);
    const json last = r.value("last_metrics", json::object());
    if (last.contains(key)) return show(last[key]);
  }
  if (m.progress.is_object() && m.progress.contains(key))
    return show(m.progress[key]) + " (latest)";
  return key + " n/a";
}

}  // namespace

bool IsRunLogFile(const std::string& file) { return !DayOf(file).empty(); }

std::string TitleOf(const std::string& markdown) {
  size_t pos = 0;
  while (pos < markdown.size()) {
    size_t nl = markdown.find('\n', pos);
    std::string line = markdown.substr(
        pos, nl == std::string::npos ? std::string::npos : nl - pos);
    if (line.rfind("# ", 0) == 0) {
      const size_t dash = line.find(kDash);
      return InlineText(dash == std::string::npos ? line.substr(2)
                                                  : line.substr(dash + 5));
    }
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  return "";
}

std::string TimelineBody(const std::string& group,
                         std::vector<TimelineItem> items) {
  std::sort(items.begin(), items.end(),
            [](const TimelineItem& a, const TimelineItem& b) {
              return a.file < b.file;
            });
  std::string out = "# " +
                    (group.empty() ? std::string("Run") : Capitalized(group)) +
                    " Timeline\n\n";
  if (items.empty()) return out + "No run logs yet.\n";
  int n = 0;
  for (const auto& it : items) {
    out += std::to_string(++n) + ". [`" + it.file + "`](" + it.file + ")" +
           kDash + HumanDay(DayOf(it.file)).value_or(DayOf(it.file));
    if (!it.title.empty()) out += kDash + InlineText(it.title);
    out += "\n";
  }
  return out;
}

std::string ExperimentsBody(const std::string& group,
                            const std::vector<const RunLogModel*>& runs) {
  std::string out = "# " +
                    (group.empty() ? std::string() : Capitalized(group) + " ") +
                    "Experiments\n\n";
  out += "| run | description | key metric | status | notes |\n";
  out += "|-----|-------------|------------|--------|-------|\n";
  std::vector<const RunLogModel*> sorted = runs;
  std::sort(sorted.begin(), sorted.end(),
            [](const RunLogModel* a, const RunLogModel* b) {
              return a->path < b->path;
            });
  for (const RunLogModel* m : sorted) {
    const std::string file = BaseOf(m->path);
    const std::string stem = file.substr(0, file.size() - 3);
    std::string status = m->last() ? m->last()->state : "not submitted";
    const std::string verdict = m->Note("verdict");
    if (!verdict.empty()) status += ", " + verdict;
    out += "| [" + Cell(stem) + "](" + file + ") | " +
           Cell(m->Note("description")) + " | " + Cell(KeyMetric(*m)) + " | " +
           Cell(status) + " | " + Cell(m->Note("notes")) + " |\n";
  }
  return out;
}

}  // namespace hpc::runlog
