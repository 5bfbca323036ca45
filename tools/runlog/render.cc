#include "tools/runlog/render.h"

#include <algorithm>
#include <cctype>

#include "tools/runlog/human_date.h"
#include "tools/runs/run.h"
#include "tools/runs/summary.h"

namespace hpc::runlog {
namespace {

using nlohmann::json;

constexpr char kNote[] =
    "<!-- Run log kept by hpc-mcp (write_run_log). Lines between an hpc-mcp "
    "begin and end "
    "marker are rewritten from the journal; write your own notes anywhere "
    "outside them. -->\n";

std::string Item(const std::string& key, const std::string& value) {
  return "- " + key + ": " + value + "\n";
}

std::string Text(const std::string& s, const char* otherwise) {
  return s.empty() ? otherwise : InlineText(s);
}

std::string Human(const std::string& iso) {
  const int64_t t = runs::ParseTs(iso);
  return t > 0 ? HumanDate(t) : std::string();
}

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "";
  return it->is_string() ? it->get<std::string>() : runs::FormatMetric(*it);
}

// "step 2400, loss 0.085, val_loss 0.09": the named fields first.
std::string Evidence(const json& ev) {
  static const char* kOrder[] = {"step", "epoch",     "loss",      "val_loss",
                                 "lr",   "grad_norm", "throughput"};
  std::string out;
  auto add = [&](const std::string& k, const json& v) {
    if (v.is_object() || v.is_array()) return;
    out +=
        (out.empty() ? "" : ", ") + InlineText(k) + " " + runs::FormatMetric(v);
  };
  for (const char* k : kOrder)
    if (ev.contains(k)) add(k, ev[k]);
  for (const auto& [k, v] : ev.items())
    if (std::none_of(std::begin(kOrder), std::end(kOrder),
                     [&](const char* o) { return k == o; }))
      add(k, v);
  return out;
}

// The config file a command names: an argument (or the value of
// --opt=value) ending in a config extension.
std::string ConfigInCommand(const json& spec) {
  if (!spec.contains("command") || !spec["command"].is_array()) return "";
  for (const auto& a : spec["command"]) {
    if (!a.is_string()) continue;
    std::string arg = a.get<std::string>();
    const size_t eq = arg.find('=');
    if (arg.rfind("-", 0) == 0 && eq != std::string::npos)
      arg = arg.substr(eq + 1);
    for (const char* ext :
         {".yaml", ".yml", ".json", ".toml", ".cfg", ".ini", ".conf"}) {
      const std::string e = ext;
      if (arg.size() > e.size() &&
          arg.compare(arg.size() - e.size(), e.size(), e) == 0)
        return arg;
    }
  }
  return "";
}

std::string Resources(const json& spec, bool pub) {
  const json res = spec.value("resources", json::object());
  std::string out;
  std::vector<const char*> keys = {"time", "cpus", "mem", "gpus", "nodes"};
  if (!pub)
    for (const char* k : {"partition", "account", "qos", "constraint"})
      keys.push_back(k);
  for (const char* k : keys)
    if (res.contains(k))
      out += (out.empty() ? "" : ", ") + std::string(k) + " " + Str(res, k);
  return out;
}

std::string ArrayOf(const json& spec) {
  if (!spec.contains("array")) return "";
  const json& a = spec["array"];
  if (a.is_array())
    return std::to_string(a.size()) + " parameter sets, one task each";
  if (a.is_string()) return "tasks " + a.get<std::string>();
  return "";
}

std::string TitleBody(const RunLogModel& m, bool pub) {
  std::string title = "# " + InlineText(m.task.empty() ? m.path : m.task);
  const std::string d = m.Note("description");
  if (!d.empty()) title += " \xE2\x80\x94 " + InlineText(d);
  return (pub ? "" : kNote) + title + "\n";
}

std::string ModeBody(const RunLogModel& m) {
  std::string type = m.Note("run_type");
  const std::string sub = m.Note("subtype");
  if (!type.empty() && !sub.empty()) type += " (" + sub + ")";
  return "## Mode\n" + Item("run_type", Text(type, "not recorded")) +
         Item("objective", Text(m.Note("objective"), "not recorded"));
}

std::string ConfigBody(const RunLogModel& m, bool pub) {
  std::string out = "## Config\n";
  const JobBlock* first = m.blocks.empty() ? nullptr : &m.blocks.front();
  if (first && !first->command.empty())
    out += Item("command", Code(first->command));
  std::string config = m.Note("config");
  if (config.empty()) config = ConfigInCommand(m.spec);
  out += Item("config", config.empty() ? "not recorded" : Code(config));
  out += Item("dataset", Text(m.Note("dataset"), "not recorded"));
  out += Item("key settings", Text(m.Note("key_settings"), "not recorded"));
  std::string res = Resources(m.spec, pub);
  if (!pub && first)
    res += (res.empty() ? "" : ", ") + std::string("profile `") +
           first->profile + "`";
  if (!res.empty()) out += Item("resources", res);
  const std::string array = ArrayOf(m.spec);
  if (!array.empty()) out += Item("array", array);
  if (!pub && !m.workdir.empty()) out += Item("workdir", Code(m.workdir));
  if (!m.code.empty()) out += Item("code", Code(m.code));
  return out;
}

std::string JobBody(const JobBlock& b, bool pub) {
  std::string out = b.resumed ? "## Job (resumed)\n" : "## Job\n";
  if (!pub) {
    out += Item("run_id", Code(b.run_id) + " (profile `" + b.profile + "`, " +
                              b.scheduler + ")");
    std::string ids;
    for (const auto& [role, id] : b.jobs)
      ids += ids.empty()
                 ? Code(id) + (role == "smoke" ? " (smoke)" : "")
                 : ", " + Code(id) + (role == "smoke" ? " (smoke)" : "");
    out += Item("execution_id", ids.empty() ? "not yet submitted" : ids);
  }
  if (b.resumed && !b.resumed_from.empty())
    out += Item("resumed from", Code(b.resumed_from));
  out += Item("submitted", b.submitted.empty() ? "not yet" : Code(b.submitted));
  out += Item("start", b.started.empty() ? "not yet" : Code(b.started));
  if (!b.started.empty()) out += Item("start_human", Code(Human(b.started)));
  out += Item("end", b.ended.empty() ? "not yet" : Code(b.ended));
  if (!b.ended.empty()) out += Item("end_human", Code(Human(b.ended)));
  if (b.runtime_s) out += Item("runtime", Code(Hms(*b.runtime_s)));
  std::string state = b.state;
  if (b.exit_code) state += " (exit code " + std::to_string(*b.exit_code) + ")";
  std::string native_lower;
  for (char ch : b.native_state)
    native_lower +=
        static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (!pub && !b.native_state.empty() && native_lower != b.state)
    state += ", scheduler: " + InlineText(b.native_state);
  out += Item("state", state);
  if (!pub && !b.nodes.empty()) out += Item("node", InlineText(b.nodes));
  if (!pub && !b.stdout_path.empty()) out += Item("log", Code(b.stdout_path));
  if (b.resumed && !b.command.empty()) out += Item("command", Code(b.command));
  if (!b.wandb_url.empty()) out += Item("wandb", InlineText(b.wandb_url));
  return out;
}

// "pass: reason (`…/SIGNOFF.json`, passport sha256 1a2b3c4d5e6f)" for the
// newest sign-off of the file's runs; "" when none was signed.
std::string SignoffLine(const RunLogModel& m, bool pub) {
  for (auto b = m.blocks.rbegin(); b != m.blocks.rend(); ++b) {
    const json& s = b->signoff;
    if (!s.is_object()) continue;
    std::string line = InlineText(Str(s, "verdict"));
    if (const std::string why = Str(s, "reason"); !why.empty())
      line += ": " + InlineText(why);
    std::string where;
    if (!pub) where = Code(Str(s, "value"));
    if (const std::string h = Str(s, "passport_sha256"); h.size() >= 12)
      where += (where.empty() ? "" : ", ") + std::string("passport sha256 ") +
               Code(h.substr(0, 12));
    return where.empty() ? line : line + " (" + where + ")";
  }
  return "";
}

std::string ResultsBody(const RunLogModel& m, bool pub) {
  std::string out = "## Results\n";
  const json& r = m.results;
  const std::string signoff = SignoffLine(m, pub);
  if (!r.is_object()) {
    out +=
        "- pending: write_run_log complete fills this in once the run has "
        "ended\n";
    return signoff.empty() ? out : out + Item("checkpoint sign-off", signoff);
  }
  std::string runtime = r.contains("runtime_s")
                            ? Code(Hms(r["runtime_s"].get<int64_t>()))
                            : "unknown";
  const std::string start = Str(r, "start"), end = Str(r, "end");
  if (!start.empty() || !end.empty())
    runtime += " (start " + (start.empty() ? "unknown" : Code(start)) +
               ", end " + (end.empty() ? "unknown" : Code(end)) + ")";
  out += Item("runtime", runtime);
  out += Item("final step",
              r.contains("final_step") ? Str(r, "final_step") : "not logged");
  for (const char* k :
       {"start_train_loss", "end_train_loss", "start_val_loss", "end_val_loss"})
    out += Item(k, r.contains(k) ? Code(Str(r, k)) : "n/a");
  out +=
      Item("loss_one_liner", Text(m.Note("loss_one_liner"), "not given yet"));
  std::string ckpt = m.Note("checkpoint_path");
  if (ckpt.empty()) ckpt = Str(r, "checkpoint");
  out += Item("checkpoint", ckpt.empty() ? "not recorded" : Code(ckpt));
  std::string snap = m.Note("config_snapshot_path");
  if (snap.empty()) snap = Str(r, "config_snapshot");
  out += Item("config_snapshot", snap.empty() ? "not recorded" : Code(snap));
  out += Item("checkpoint sign-off",
              signoff.empty() ? "not signed (sign_checkpoint)" : signoff);
  return out;
}

std::string WandbBody(const RunLogModel& m, bool pub) {
  std::string url, local = m.Note("wandb_local");
  for (const auto& b : m.blocks) {
    if (!b.wandb_url.empty()) url = b.wandb_url;
    if (!b.wandb_local.empty()) local = b.wandb_local;
  }
  std::string out = "## W&B\n";
  if (!pub) out += Item("local", local.empty() ? "not recorded" : Code(local));
  out += Item("synced",
              url.empty()
                  ? "pending \xE2\x80\x94 sync the offline run with sync_wandb"
                  : InlineText(url));
  out += Item("notes", Text(m.Note("wandb_notes"), "none yet"));
  return out;
}

std::string NextBody(const RunLogModel& m) {
  std::string out = "## Next\n";
  const json next = m.notes.value("next", json::array());
  int n = 0;
  if (next.is_array())
    for (const auto& s : next)
      if (s.is_string() && !s.get<std::string>().empty()) {
        out += "- " + InlineText(s.get<std::string>()) + "\n";
        ++n;
      }
  if (n > 0) return out;
  const JobBlock* last = m.last();
  if (last && last->state == "completed" && last->signoff.is_object())
    return out +
           "- check the signed checkpoint with verify_checkpoint before any "
           "eval, upload or hand-off\n";
  if (last && last->state == "completed")
    return out +
           "- sign the checkpoint (sign_checkpoint writes MODEL_PASSPORT.json "
           "and SIGNOFF.json) "
           "before any eval, upload or hand-off\n";
  return out + "- to be decided when the run has ended\n";
}

std::vector<std::string> Before(const std::vector<std::string>& order,
                                const std::string& name) {
  std::vector<std::string> out;
  for (const auto& n : order) {
    if (n == name) break;
    out.push_back(n);
  }
  return out;
}

}  // namespace

std::string JobSectionName(const std::string& run_id) {
  return "job:" + run_id;
}

std::string Code(const std::string& text) {
  const std::string t = InlineText(text);
  if (t.find('`') == std::string::npos) return "`" + t + "`";
  return "`` " + t + " ``";
}

std::string StatusLine(const StatusEntry& e) {
  std::string line = "- " + MinuteUtc(e.at) + " \xE2\x80\x94 " +
                     (e.state.empty() ? "unknown" : e.state);
  const std::string ev = Evidence(e.evidence);
  if (!ev.empty()) line += ", " + ev;
  if (!e.text.empty()) line += " \xE2\x80\x94 " + InlineText(e.text);
  return line + "\n";
}

std::vector<std::string> ApplyModel(MarkedDoc& doc, const RunLogModel& m,
                                    const StatusEntry* new_entry) {
  const std::string first_job =
      m.blocks.empty() ? "" : JobSectionName(m.blocks.front().run_id);
  const std::vector<std::string> order = {"title",   "mode",         "config",
                                          first_job, kStatusSection, "results",
                                          "wandb",   "next"};
  std::vector<std::string> written;
  auto put = [&](const std::string& name, std::string body) {
    MarkedDoc::Place where;
    if (name == "title") {
      where.kind = MarkedDoc::Place::kStart;
    } else {
      where.kind = MarkedDoc::Place::kAfter;
      where.after = Before(order, name);
    }
    doc.Put(name, std::move(body), where);
    written.push_back(name);
  };
  put("title", TitleBody(m, false));
  put("mode", ModeBody(m));
  put("config", ConfigBody(m, false));
  for (size_t i = 0; i < m.blocks.size(); ++i) {
    const std::string name = JobSectionName(m.blocks[i].run_id);
    if (i == 0) {
      put(name, JobBody(m.blocks[i], false));
    } else {
      // Resumptions go at the end of the file, as the seed appends them.
      doc.Put(name, JobBody(m.blocks[i], false),
              MarkedDoc::Place{MarkedDoc::Place::kEnd, {}});
      written.push_back(name);
    }
  }
  MarkedDoc::Place status_place{MarkedDoc::Place::kAfter,
                                Before(order, kStatusSection)};
  if (!doc.Has(kStatusSection)) {
    std::string all;
    for (const auto& e : m.status) all += StatusLine(e);
    doc.Append(kStatusSection, "## Status\n", all, status_place);
    written.push_back(kStatusSection);
  } else if (new_entry) {
    doc.Append(kStatusSection, "## Status\n", StatusLine(*new_entry),
               status_place);
    written.push_back(kStatusSection);
  }
  put("results", ResultsBody(m, false));
  put("wandb", WandbBody(m, false));
  put("next", NextBody(m));
  return written;
}

std::string PublicBody(const std::string& name, const std::string& body,
                       const RunLogModel& m) {
  if (name == "title") return TitleBody(m, true);
  if (name == "mode") return ModeBody(m);
  if (name == "config") return ConfigBody(m, true);
  if (name == "results") return ResultsBody(m, true);
  if (name == "wandb") return WandbBody(m, true);
  if (name == "next") return NextBody(m);
  for (const auto& b : m.blocks)
    if (name == JobSectionName(b.run_id)) return JobBody(b, true);
  return body;
}

}  // namespace hpc::runlog
