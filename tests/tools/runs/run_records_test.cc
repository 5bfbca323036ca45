// Run records end to end (issue 5's "done when"), driven as an agent drives
// them, through the MCP tools of one session: a real training run, on the
// local profile and on the Slurm testbed over SSH, becomes a run log
// (create at submission, a status entry while it runs, complete after the
// end, a person's edits between calls kept), a timeline and an experiments
// table; its offline W&B run is synced (a dry run, then for real against
// the stand-in wandb) and the URL lands in the journal and the run log; its
// checkpoint is signed and verified; a sanitized TRAINING_LOG.md is
// published. Then the W&B API key is searched for in everything: answers
// and notifications, the server's log, the journal, every file of the
// repository and of the run's directory on the cluster.
//
// The test touches the run's machine only through the profile's own Remote
// (its SSH connection on the testbed): to plant the stand-in and the token
// file, to age the checkpoint past sign_checkpoint's quiet minute, and to
// read what the stand-in recorded and search the files for the key.
#include <pwd.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cctype>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/files.h"
#include "tests/support/run_repo.h"
#include "tests/support/wandb_fixture.h"
#include "tools/remote/local_process.h"
#include "tools/runlog/markers.h"
#include "tools/runs/cluster_context.h"
#include "tools/wandb/run_dir.h"

namespace hpc {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr char kGroup[] = "records";
constexpr char kTask[] = "train_small";
constexpr char kDescription[] = "small MLP, default LR";
constexpr char kWandbId[] = "r3c0rd5x";
constexpr char kEntity[] = "team-a";
constexpr char kProject[] = "proj-b";
constexpr char kSigner[] = "researcher@example.org";
constexpr char kOneLiner[] =
    "falls fast for forty steps, then flattens; val follows train closely";
constexpr char kByHand[] =
    "Hand-written: 80 steps only, to see the curve shape before the sweep.";
constexpr char kAnalysis[] =
    "## My analysis\nThe gap between train and val stays small.\n";
constexpr char kLaterNote[] =
    "Note from the PI: compare with the LR 1e-3 run before deciding.\n";

// What the run logs: step, train loss, val loss (as printed).
struct Step {
  int step;
  const char* loss;
  const char* val_loss;
};
const std::vector<Step> kSteps = {{10, "2.5", "2.6"},  {20, "1.9", "2.05"},
                                  {30, "1.5", "1.7"},  {40, "1.2", "1.4"},
                                  {50, "1.0", "1.25"}, {60, "0.9", "1.15"},
                                  {70, "0.85", "1.1"}, {80, "0.8", "1.08"}};

std::string Url() {
  return std::string("https://wandb.ai/") + kEntity + "/" + kProject +
         "/runs/" + kWandbId;
}

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Whether `word` occurs in `text` not inside a longer run of letters and
// digits.
bool HasWord(const std::string& text, const std::string& word) {
  auto alnum = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c));
  };
  for (size_t at = text.find(word); at != std::string::npos;
       at = text.find(word, at + 1)) {
    const size_t end = at + word.size();
    if ((at == 0 || !alnum(text[at - 1])) &&
        (end >= text.size() || !alnum(text[end])))
      return true;
  }
  return false;
}

// The person's text of a run log: everything outside the server's markers.
std::string FreeText(const std::string& text) {
  auto doc = runlog::MarkedDoc::Parse(text, "run log");
  REQUIRE(doc.ok());
  return doc->Flatten(
      [](const std::string&, const std::string&) { return std::string(); });
}

// The server's section `name` of a run log, markers excluded ("" if none).
std::string Section(const std::string& text, const std::string& name) {
  const std::string begin = "<!-- hpc-mcp:begin section=" + name;
  const size_t at = text.find(begin);
  if (at == std::string::npos) return "";
  const size_t body = text.find('\n', at);
  const size_t end = text.find("<!-- hpc-mcp:end section=" + name + " -->", at);
  if (body == std::string::npos || end == std::string::npos) return "";
  return text.substr(body + 1, end - body - 1);
}

// "2026-11-23" from a run id "20261123-name-ab12" (both UTC).
std::string DayOfRun(const std::string& id) {
  return id.substr(0, 4) + "-" + id.substr(4, 2) + "-" + id.substr(6, 2);
}

// "Monday, Nov 23rd, 2026" for "2026-11-23", computed here with the C
// library rather than by the code under test.
std::string HumanDay(const std::string& ymd) {
  std::tm tm{};
  REQUIRE(strptime(ymd.c_str(), "%Y-%m-%d", &tm) != nullptr);
  const std::time_t t = timegm(&tm);
  REQUIRE(gmtime_r(&t, &tm) != nullptr);
  char weekday[16], month[8];
  std::strftime(weekday, sizeof weekday, "%A", &tm);
  std::strftime(month, sizeof month, "%b", &tm);
  const int d = tm.tm_mday;
  const char* suffix = (d % 100 >= 11 && d % 100 <= 13) ? "th"
                       : d % 10 == 1                    ? "st"
                       : d % 10 == 2                    ? "nd"
                       : d % 10 == 3                    ? "rd"
                                                        : "th";
  return std::string(weekday) + ", " + month + " " + std::to_string(d) +
         suffix + ", " + std::to_string(tm.tm_year + 1900);
}

remote::CommandResult RunHere(std::vector<std::string> argv) {
  remote::ProcessSpec spec;
  spec.argv = std::move(argv);
  auto r = remote::RunProcess(spec);
  REQUIRE(r.ok());
  return *r;
}

// The offline run's history, in wandb's transaction-log format: the same
// steps the run prints, under a run record naming a stale destination.
std::string WandbHistory() {
  std::vector<std::string> recs = {
      testing::RunRecord(kWandbId, "old-team", "scratch-proj")};
  for (const auto& s : kSteps)
    recs.push_back(testing::HistoryRecord({{"_step", std::to_string(s.step)},
                                           {"loss", s.loss},
                                           {"val_loss", s.val_loss},
                                           {"lr", "0.0003"}},
                                          s.step));
  return testing::TransactionLog(recs);
}

std::string Base64(const std::string& in) {
  static const char* kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t n = static_cast<unsigned char>(in[i]) << 16 |
                       static_cast<unsigned char>(in[i + 1]) << 8 |
                       static_cast<unsigned char>(in[i + 2]);
    for (int k = 3; k >= 0; --k) out += kAlphabet[(n >> (6 * k)) & 63];
  }
  if (i < in.size()) {
    uint32_t n = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// The training program, submitted as a script: it prints a metric line
// every 1.2 s (about 10 s in all), writes its resolved config, a checkpoint
// (two safetensors shards and their index) and an offline W&B run laid out
// as wandb lays one out (WANDB_DIR and WANDB_DATA_DIR in its output
// directory), with transient artifact staging beside it.
std::string TrainScript() {
  std::string steps;
  for (const auto& s : kSteps)
    steps += "(" + std::to_string(s.step) + ", \"" + s.loss + "\", \"" +
             s.val_loss + "\"), ";
  return std::string(R"PY(#!/usr/bin/env python3
import base64, json, os, struct, time
from datetime import datetime, timezone

STEPS = [)PY") +
         steps + R"PY(]
WANDB_ID = ")PY" +
         kWandbId + R"PY("
HISTORY = base64.b64decode(")PY" +
         Base64(WandbHistory()) + R"PY(")

out = os.path.join(os.getcwd(), "outputs", os.environ["HPC_RUN_ID"])
last_step, last_loss, last_val = STEPS[-1]
ckpt = os.path.join(out, "checkpoints", "step_%d" % last_step)
os.makedirs(ckpt)
config = {"model": "tiny-mlp", "lr": 0.0003, "batch_size": 32,
          "max_steps": last_step, "seed": 7}
snapshot = os.path.join(out, "config_resolved.yaml")
with open(snapshot, "w") as f:
    f.write("".join("%s: %s\n" % kv for kv in config.items()))
print("config snapshot:", snapshot, flush=True)

started = datetime.now(timezone.utc)
printed = []
for step, loss, val in STEPS:
    time.sleep(1.2)
    line = "step=%d loss=%s val_loss=%s lr=0.0003" % (step, loss, val)
    printed.append(line)
    print(line, flush=True)

def shard(name, tensor, n):
    data = struct.pack("<%df" % n, *[(i % 97) / 97.0 for i in range(n)])
    header = json.dumps({tensor: {"dtype": "F32", "shape": [n],
                                  "data_offsets": [0, len(data)]}}).encode()
    with open(os.path.join(ckpt, name), "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header + data)
    return len(data)

total = (shard("model-00001-of-00002.safetensors", "layer1.weight", 40000) +
         shard("model-00002-of-00002.safetensors", "layer2.weight", 12345))
with open(os.path.join(ckpt, "model.safetensors.index.json"), "w") as f:
    json.dump({"metadata": {"total_size": total},
               "weight_map": {"layer1.weight": "model-00001-of-00002.safetensors",
                              "layer2.weight": "model-00002-of-00002.safetensors"}}, f)
print("checkpoint saved:", ckpt, flush=True)

def write(path, content):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb" if isinstance(content, bytes) else "w") as f:
        f.write(content)

run_dir = os.path.join(out, "wandb",
                       started.strftime("offline-run-%Y%m%d_%H%M%S-") + WANDB_ID)
write(os.path.join(run_dir, "run-%s.wandb" % WANDB_ID), HISTORY)
write(os.path.join(run_dir, "files", "wandb-summary.json"),
      json.dumps({"loss": float(last_loss), "val_loss": float(last_val),
                  "_step": last_step}))
write(os.path.join(run_dir, "files", "config.yaml"),
      "wandb_version: 1\n" + "".join("%s:\n  desc: null\n  value: %s\n" % kv
                                     for kv in config.items()))
write(os.path.join(run_dir, "files", "wandb-metadata.json"),
      json.dumps({"program": "train.py", "args": ["--lr", "3e-4"]}))
write(os.path.join(run_dir, "files", "output.log"), "\n".join(printed) + "\n")
write(os.path.join(run_dir, "logs", "debug.log"), "offline run\n")
write(os.path.join(out, "wandb", "settings"),
      "[default]\nentity = old-team\nproject = scratch-proj\n")
write(os.path.join(out, "wandb_data", "artifacts", "staging", "upload",
                   "model.bin"), b"s" * 65536)
print("wandb: You can sync this run to the cloud by running:", flush=True)
print("wandb: wandb sync", run_dir, flush=True)
)PY";
}

// The agent's side: one kept MCP session (testing::AgentSession) whose
// calls name the repository and carry a progress token.
class Agent {
 public:
  explicit Agent(std::string repo) : repo_(std::move(repo)) {}

  json Call(const std::string& tool, json args) {
    args["repo"] = repo_;
    return session_.Call(tool, std::move(args),
                         tool + "-" + std::to_string(++calls_));
  }
  // A call that must succeed: its structuredContent.
  json Ok(const std::string& tool, json args) {
    json r = Call(tool, std::move(args));
    INFO(tool << ": " << r.dump());
    REQUIRE_FALSE(r.value("isError", false));
    return r["structuredContent"];
  }
  std::string Everything() const { return session_.Everything(); }

 private:
  std::string repo_;
  testing::AgentSession session_;
  int calls_ = 0;
};

// Where the workflow runs: a repository with one profile whose shell puts
// the stand-in wandb on PATH (after exporting the stale W&B defaults a
// login shell might), a token file on that profile's machine, and the
// profile's own Remote for the test's few direct looks there.
struct Site {
  testing::RunRepo repo;
  testing::TempDir local;  // Outside the repository: this machine's secrets.
  std::string key = testing::RandomKey();
  std::string profile;
  std::string root;        // The site's own directory on its machine.
  std::string workdir;     // Where jobs start: outputs/<run id> below.
  std::string token_file;  // On the site's machine.
  std::string record;      // The stand-in's record, on the site's machine.
  std::vector<std::string> never_published;  // User, host, paths.
  std::unique_ptr<runs::Cluster> cluster;
  bool remote_root = false;  // `root` is on the testbed: removed at the end.

  ~Site() {
    if (!remote_root || !cluster) return;
    remote::RunOptions o;
    o.login_shell = false;
    (void)cluster->remote->Run({"rm", "-rf", "--", root}, o);
  }

  remote::Remote& rm() { return *cluster->remote; }

  // The profile: `access` is its access block (YAML lines).
  void WriteProfile(const std::string& scheduler, const std::string& access,
                    const std::string& login, const std::string& limits) {
    repo.WriteProfile(
        profile,
        "name: " + profile + "\nscheduler: " + scheduler + "\n" + access +
            "shell:\n  login: " + login +
            "\n  setup:\n    - export PATH=" + root +
            "/bin:$PATH\n"
            "    - export WANDB_ENTITY=stale-team WANDB_PROJECT=stale-project "
            "WANDB_BASE_URL=https://stale.example.com\n"
            "    - export WANDB_STANDIN_RECORD=" +
            record + " WANDB_STANDIN_KEY_SHA256=" + testing::Sha256Hex(key) +
            "\npaths:\n  work_root: " + root + "/work\n  log_root: " + root +
            "/logs\nlimits: " + limits + "\n");
  }

  // Opens the profile and plants the stand-in and the token file.
  void Open() {
    auto c = runs::OpenCluster(profile, repo.path());
    REQUIRE(c.ok());
    cluster = std::move(*c);
    REQUIRE(
        rm().WriteFileAtomic(root + "/bin/wandb", testing::WandbStandIn(), 0755)
            .ok());
    REQUIRE(rm().WriteFileAtomic(token_file, key + "\n", 0600).ok());
  }

  // The local profile: jobs run on this machine, in the repository; the
  // token file is outside it.
  static std::unique_ptr<Site> Local() {
    auto s = std::make_unique<Site>();
    s->profile = "rec";
    s->root = s->repo.path() + "/cluster";
    s->workdir = s->repo.path();
    s->token_file = (s->local.path() / "wandb_token").string();
    s->record = s->root + "/standin.record";
    s->WriteProfile("local", "access: {kind: local}\n", "[bash]",
                    "{max_concurrent_jobs: 4, min_query_interval_seconds: 0}");
    s->Open();
    s->never_published = {s->repo.path()};
    // Jobs run as this user. Account names that identify nobody (root,
    // ubuntu, ...) are kept by design (tools/runlog/sanitize.cc).
    const passwd* pw = ::getpwuid(::getuid());
    REQUIRE(pw != nullptr);
    const std::string user = pw->pw_name;
    if (user != "root" && user != "user" && user != "admin" &&
        user != "ubuntu" && user != "debian" && user != "nobody")
      s->never_published.push_back(user);
    return s;
  }

  // The Slurm testbed over SSH, in a fresh directory under TESTBED_WORK.
  static std::unique_ptr<Site> Testbed() {
    const testing::Testbed tb = testing::RequireTestbed();
    auto s = std::make_unique<Site>();
    s->profile = "tb-rec";
    s->root = tb.work + "/records-" + std::to_string(::getpid()) + "-" +
              std::to_string(Clock::now().time_since_epoch().count());
    s->workdir = s->root + "/work";
    s->token_file = s->root + "/secret/wandb_token";
    s->record = s->root + "/standin.record";
    s->WriteProfile("slurm",
                    "access:\n  kind: ssh\n  host: " + tb.host + "\n  port: " +
                        std::to_string(tb.port) + "\n  user: " + tb.user +
                        "\n  identity_file: " + tb.key +
                        "\n  known_hosts: " + tb.known_hosts + "\n",
                    "[bash, -l]", "{min_query_interval_seconds: 0}");
    s->remote_root = true;
    s->Open();
    s->never_published = {tb.work, tb.user, tb.host};
    return s;
  }

  // A file on the site's machine ("" when it cannot be read).
  std::string Read(const std::string& path) {
    bool cut = false;
    auto text = wandb::ReadWhole(rm(), path, 16 << 20, &cut);
    return text.ok() ? *text : std::string();
  }
  bool Exists(const std::string& path) { return rm().Stat(path).ok(); }

  // sign_checkpoint refuses a checkpoint changed in the last minute (a
  // run may still be writing it). Rather than wait that minute out, the
  // test dates the checkpoint's entries five minutes back, as the
  // sign_checkpoint and verify_checkpoint tests do.
  void AgeCheckpoint(const std::string& dir) {
    remote::RunOptions o;
    o.login_shell = false;
    const std::string past = "@" + std::to_string(std::time(nullptr) - 300);
    auto r = rm().Run({"find", dir, "-mindepth", "1", "-exec", "touch", "-h",
                       "-d", past, "{}", "+"},
                      o);
    REQUIRE(r.ok());
    REQUIRE(r->ok());
  }

  // Files under the site's directory on its machine, but the token file,
  // that hold the key.
  std::vector<std::string> SiteFilesHoldingKey() {
    std::vector<std::string> hits;
    auto l = wandb::Walk(rm(), root);
    REQUIRE(l.ok());
    CHECK_FALSE(l->truncated);
    for (const auto& e : l->entries) {
      const std::string p = root + "/" + e.rel;
      if (e.type != 'f' || p == token_file) continue;
      if (Has(Read(p), key)) hits.push_back(p);
    }
    return hits;
  }
};

// Every regular file under `dir` (this machine) that holds `needle`.
std::vector<std::string> LocalFilesHolding(const std::string& dir,
                                           const std::string& needle) {
  std::vector<std::string> hits;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file() && !e.is_symlink() &&
        Has(testing::ReadAll(e.path().string()), needle))
      hits.push_back(e.path().string());
  return hits;
}

void CheckNoKey(const std::string& where, const std::string& text,
                const std::string& key) {
  INFO("the W&B key is in " << where);
  CHECK_FALSE(Has(text, key));
}

bool Active(const std::string& state) {
  return state == "pending" || state == "running" || state == "submitting" ||
         state == "unknown";
}

// Polls until the run is running and its log shows a step; its view.
json WaitRunningWithStep(Agent& a, const std::string& id) {
  const auto end = Clock::now() + std::chrono::seconds(180);
  json view;
  for (int i = 0; i < 1000 && Clock::now() < end; ++i) {
    view = a.Ok("poll", {{"run_ids", {id}}})["runs"][0];
    if (view["state"] == "running" && view["progress"].is_object() &&
        view["progress"].contains("step"))
      return view;
    INFO(view.dump());
    REQUIRE(Active(view["state"]));  // It must not end before we look.
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  FAIL("run " << id << " did not show a step while running: " << view.dump());
  return view;
}

// Waits for the run's end as an agent does: wait_for_runs, then poll.
json WaitEnded(Agent& a, const std::string& id) {
  const auto end = Clock::now() + std::chrono::seconds(240);
  json view;
  for (int i = 0; i < 20 && Clock::now() < end; ++i) {
    view = a.Ok("poll", {{"run_ids", {id}}})["runs"][0];
    if (!Active(view["state"])) return view;
    a.Ok("wait_for_runs",
         {{"run_ids", {id}}, {"timeout_s", 60}, {"interval_s", 1}});
  }
  FAIL("run " << id << " did not end: " << view.dump());
  return view;
}

// The whole workflow on `s`.
void RunRecords(Site& s) {
  testing::LogCapture log;  // Outlives the agent's server.
  Agent a(s.repo.path());
  // The experiment repository is a git repository with a committed config.
  fs::create_directories(s.repo.path() + "/configs");
  testing::WriteAll(s.repo.path() + "/configs/small.yaml",
                    "lr: 3e-4\nbatch: 32\n");
  const std::string repo_dir = s.repo.path();
  REQUIRE(RunHere({"git", "-C", repo_dir, "init", "-q", "-b", "main"}).ok());
  REQUIRE(RunHere({"git", "-C", repo_dir, "add", "configs"}).ok());
  REQUIRE(RunHere({"git", "-C", repo_dir, "-c", "user.name=Test", "-c",
                   "user.email=test@example.org", "commit", "-q", "-m",
                   "small config"})
              .ok());
  // The signer's SSH key and allowed_signers file, on this machine.
  const std::string ssh_key = (s.local.path() / "id_ed25519").string();
  const std::string allowed = (s.local.path() / "allowed_signers").string();
  REQUIRE(RunHere({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "t",
                   "-f", ssh_key})
              .ok());
  testing::WriteAll(
      allowed, std::string(kSigner) + " " + testing::ReadAll(ssh_key + ".pub"));

  // ---- Submit, and create the run log at submission. ----
  json sub = a.Ok("submit", {{"profile", s.profile},
                             {"name", "train-small"},
                             {"script", TrainScript()},
                             {"resources", {{"time", "00:05:00"}}}});
  const std::string id = sub["run_id"];
  const auto job_ids = sub["job_ids"].get<std::vector<std::string>>();
  REQUIRE_FALSE(job_ids.empty());
  const std::string day = DayOfRun(id);
  const std::string base = day + "_" + kTask;
  const std::string dir = std::string("run_logs/") + kGroup + "/";
  const std::string rel = dir + base + ".md";
  const std::string file = s.repo.path() + "/" + rel;
  const std::string out = s.workdir + "/outputs/" + id;
  const std::string ckpt = out + "/checkpoints/step_80";
  const std::string snapshot = out + "/config_resolved.yaml";

  json created =
      a.Ok("write_run_log", {{"run_id", id},
                             {"action", "create"},
                             {"group", kGroup},
                             {"task", kTask},
                             {"run_type", "experiment"},
                             {"objective", "does the small model learn here?"},
                             {"description", kDescription},
                             {"config", "configs/small.yaml"},
                             {"dataset", "synthetic tokens made by the script"},
                             {"key_settings", "lr 3e-4, batch 32, 80 steps"},
                             {"notes", "first of the LR sweep"}});
  CHECK(created["path"] == rel);
  std::string text = testing::ReadAll(file);
  {
    INFO(text);
    for (const std::string& part : std::vector<std::string>{
             std::string("# ") + kTask + " \xE2\x80\x94 " + kDescription,
             "## Mode\n- run_type: experiment\n",
             "- objective: does the small model learn here?",
             "- config: `configs/small.yaml`",
             "- key settings: lr 3e-4, batch 32, 80 steps", "- code: `main @ ",
             "## Job\n- run_id: `" + id + "`",
             "- execution_id: `" + job_ids.back() + "`",
             "## Results\n- pending", "- synced: pending"})
      CHECK(Has(text, part));
  }
  // A person edits the file between calls: before the first section and
  // after the last.
  const size_t mode_at = text.find("<!-- hpc-mcp:begin section=mode");
  REQUIRE(mode_at != std::string::npos);
  text.insert(mode_at, std::string(kByHand) + "\n\n");
  text += std::string("\n") + kAnalysis;
  testing::WriteAll(file, text);
  std::string free_text = FreeText(text);

  // ---- While it runs: an evidence-backed status entry; no sign-off. ----
  WaitRunningWithStep(a, id);
  json running =
      a.Ok("write_run_log", {{"run_id", id},
                             {"action", "status"},
                             {"entry", "loss falling, stderr clean"}});
  {
    const std::string entry = running["entry"];
    INFO(entry);
    CHECK(Has(entry, "\xE2\x80\x94 running, step "));
    CHECK(Has(entry, "\xE2\x80\x94 loss falling, stderr clean"));
  }
  json early = a.Call("sign_checkpoint", {{"run_id", id},
                                          {"path", ckpt},
                                          {"verdict", "pass"},
                                          {"signer", kSigner}});
  CHECK(early.value("isError", false));
  CHECK(Has(testing::ResultText(early), "still running"));
  CHECK(FreeText(testing::ReadAll(file)) == free_text);

  // ---- The end. The agent reads where the outputs went from the log. ----
  {
    json done = WaitEnded(a, id);
    INFO(done.dump());
    REQUIRE(done["state"] == "completed");
  }
  json tail = a.Ok("tail_log", {{"run_id", id}, {"lines", 50}});
  std::string lines;
  for (const auto& l : tail["lines"]) lines += l.get<std::string>() + "\n";
  CHECK(Has(lines, "checkpoint saved: " + ckpt + "\n"));
  CHECK(Has(lines, "config snapshot: " + snapshot + "\n"));
  json final_eval =
      a.Ok("write_run_log", {{"run_id", id},
                             {"action", "status"},
                             {"entry", "final eval done"},
                             {"evidence", {{"step", 80}, {"val_loss", 1.08}}}});
  CHECK(Has(final_eval["entry"].get<std::string>(),
            "completed, step 80, val_loss 1.08 \xE2\x80\x94 final eval done"));

  json completed =
      a.Ok("write_run_log", {{"run_id", id},
                             {"action", "complete"},
                             {"loss_one_liner", kOneLiner},
                             {"checkpoint_path", ckpt},
                             {"config_snapshot_path", snapshot},
                             {"verdict", "keep"},
                             {"next", {"sweep lr 1e-3 and 1e-4 next"}}});
  CHECK(completed.value("warnings", json::array()).empty());
  text = testing::ReadAll(file);
  {
    INFO(text);
    CHECK(FreeText(text) == free_text);
    for (const std::string& part : std::vector<std::string>{
             "- final step: 80\n", "- start_train_loss: `2.5`",
             "- end_train_loss: `0.8`", "- start_val_loss: `2.6`",
             "- end_val_loss: `1.08`",
             std::string("- loss_one_liner: ") + kOneLiner,
             "- checkpoint: `" + ckpt + "`",
             "- config_snapshot: `" + snapshot + "`", "- runtime: `",
             "- state: completed (exit code 0)", "- start_human: `",
             "- end_human: `", "- sweep lr 1e-3 and 1e-4 next",
             "completed, step 80, val_loss 1.08"})
      CHECK(Has(text, part));
    CHECK_FALSE(Has(text, "## Results\n- pending"));
    // Both status entries, once each, in order.
    CHECK(text.find("loss falling, stderr clean") <
          text.find("final eval done"));
    CHECK(text.find("final eval done") == text.rfind("final eval done"));
  }
  {
    const std::string timeline =
        testing::ReadAll(s.repo.path() + "/" + dir + "timeline.md");
    INFO(timeline);
    CHECK(Has(timeline, "# Records Timeline\n"));
    CHECK(Has(timeline, "1. [`" + base + ".md`](" + base +
                            ".md) \xE2\x80\x94 " + HumanDay(day) +
                            " \xE2\x80\x94 " + kDescription));
    const std::string experiments =
        testing::ReadAll(s.repo.path() + "/" + dir + "experiments.md");
    INFO(experiments);
    CHECK(Has(experiments,
              "| run | description | key metric | status | notes |"));
    CHECK(Has(experiments, "| [" + base + "](" + base + ".md) | " +
                               kDescription +
                               " | val_loss 1.08 | completed, keep | first "
                               "of the LR sweep |"));
  }

  // The person again: a note after the Results.
  const std::string results_end = "<!-- hpc-mcp:end section=results -->\n";
  REQUIRE(Has(text, results_end));
  text.insert(text.find(results_end) + results_end.size(),
              std::string("\n") + kLaterNote);
  testing::WriteAll(file, text);
  free_text = FreeText(text);

  // ---- W&B: find, read, a dry run, then the sync. ----
  json found = a.Ok("sync_wandb", {{"action", "find"}, {"run_id", id}});
  REQUIRE(found["runs"].size() == 1);
  const std::string wb = found["runs"][0]["path"];
  CHECK(wb.rfind(out + "/wandb/offline-run-", 0) == 0);
  CHECK(found["runs"][0]["wandb_run_id"] == kWandbId);
  CHECK(found["runs"][0]["offline"] == true);
  CHECK(found["runs"][0]["synced"] == false);
  json read =
      a.Ok("sync_wandb", {{"action", "read"}, {"run_id", id}, {"path", wb}});
  CHECK(read["history"]["rows"] == kSteps.size());
  CHECK(read["history"]["metrics"]["val_loss"]["last"] ==
        json::array({80, 1.08}));
  CHECK(read["summary"]["val_loss"] == 1.08);

  const json destination{{"run_id", id},
                         {"path", wb},
                         {"entity", kEntity},
                         {"project", kProject},
                         {"token_file", s.token_file}};
  json dry = a.Ok("sync_wandb", destination);  // dry_run is the default.
  {
    INFO(dry.dump());
    CHECK(dry["dry_run"] == true);
    CHECK(dry["synced"] == false);
    CHECK(dry["destination"]["entity"] == kEntity);
    CHECK(dry["destination"]["project"] == kProject);
    CHECK(dry["token_file"] == s.token_file);
    CHECK(dry["upload_files"] == 5);  // The history and four files/.
    CHECK(dry["staging_bytes"] == 65536);
    CHECK(dry["recorded_defaults"].size() == 2);  // settings, run record.
    const std::string command = dry["command"];
    CHECK(Has(command, "--entity team-a --project proj-b -- " + wb));
    CHECK(Has(command, s.token_file));
  }
  CHECK_FALSE(s.Exists(s.record));  // wandb did not run.
  CHECK_FALSE(s.Exists(wb + "/run-" + kWandbId + ".wandb.synced"));

  json synced = a.Ok("sync_wandb", [&] {
    json args = destination;
    args.update(
        {{"dry_run", false}, {"prune_staging", true}, {"timeout_s", 120}});
    return args;
  }());
  {
    INFO(synced.dump());
    CHECK(synced["synced"] == true);
    CHECK(synced["url"] == Url());
    CHECK(synced["linked_run"] == id);
    CHECK(synced["run_log"] == rel);
    CHECK(synced["pruned"].size() == 1);
  }
  CHECK(s.Exists(wb + "/run-" + kWandbId + ".wandb.synced"));
  CHECK_FALSE(s.Exists(out + "/wandb_data/artifacts/staging/upload"));
  const std::string record = s.Read(s.record);
  {
    INFO(record);
    CHECK(Has(record,
              "argv=sync|--entity|team-a|--project|proj-b|--|" + wb + "\n"));
    CHECK(Has(record, "key_sha256=" + testing::Sha256Hex(s.key) + "\n"));
    CHECK(Has(record, "entity_env=<unset>\n"));
    CHECK(Has(record, "project_env=<unset>\n"));
    CHECK(Has(record, "base_url_env=https://api.wandb.ai\n"));
  }
  int linked = 0;
  for (const auto& e : s.repo.Events())
    if (e["name"] == "linked" && e["context"]["kind"] == "wandb") {
      ++linked;
      CHECK(e["run"] == id);
      CHECK(e["context"]["value"] == Url());
      CHECK(e["context"]["path"] == wb);
    }
  CHECK(linked == 1);
  // The URL is in the run log at once: the W&B section and the job block.
  text = testing::ReadAll(file);
  {
    INFO(text);
    CHECK(FreeText(text) == free_text);
    const std::string w = Section(text, "wandb");
    CHECK(Has(w, "- synced: " + Url() + "\n"));
    CHECK(Has(w, "- local: `" + wb + "`"));
    CHECK(Has(Section(text, "job:" + id), "- wandb: " + Url() + "\n"));
  }

  // ---- Sign and verify the checkpoint. ----
  s.AgeCheckpoint(ckpt);
  json signed_off =
      a.Ok("sign_checkpoint",
           {{"run_id", id},
            {"path", ckpt},
            {"verdict", "pass"},
            {"verdict_reason", "val loss 1.08 at step 80, still falling"},
            {"signer", kSigner},
            {"signing_key", ssh_key},
            {"config_snapshot", snapshot}});
  {
    INFO(signed_off.dump());
    CHECK(signed_off["run_id"] == id);
    CHECK(signed_off["files"] == 3);
    CHECK(signed_off["weight_files"] == 2);
    CHECK(signed_off["signed"] == true);
    CHECK(signed_off["git_commit"].is_string());
    CHECK(signed_off["run_log"] == rel);
  }
  {
    // The run log's Results carry the verdict at once, the person's text
    // untouched.
    const std::string text = testing::ReadAll(file);
    INFO(text);
    CHECK(FreeText(text) == free_text);
    CHECK(
        Has(Section(text, "results"),
            "- checkpoint sign-off: pass: val loss 1.08 at step 80, still "
            "falling (`" +
                ckpt + "/SIGNOFF.json`, passport sha256 `" +
                signed_off["passport_sha256"].get<std::string>().substr(0, 12) +
                "`)\n"));
  }
  const json passport =
      json::parse(s.Read(ckpt + "/MODEL_PASSPORT.json"), nullptr, false);
  REQUIRE(passport.is_object());
  {
    const json& p = passport["provenance"];
    INFO(p.dump());
    CHECK(p["run_id"] == id);
    CHECK(p["job_id"] == job_ids.back());
    CHECK(p["config_snapshot"]["path"] == snapshot);
    CHECK(p["config_snapshot"]["sha256"] ==
          testing::Sha256Hex(s.Read(snapshot)));
  }
  json verified = a.Ok("verify_checkpoint", {{"run_id", id},
                                             {"require_signoff", true},
                                             {"allowed_signers", allowed}});
  {
    INFO(verified.dump());
    CHECK(verified["path"] == ckpt);
    CHECK(verified["verdict"] == "pass");
    CHECK(verified["ok"] == true);
    for (const auto& c : verified["checks"]) CHECK(c["status"] == "pass");
    CHECK(verified["signoff"]["signer"] == kSigner);
  }

  // ---- Publish the sanitized TRAINING_LOG.md. ----
  const std::string before_publish = testing::ReadAll(file);
  json pub = a.Ok("write_run_log", {{"run_id", id}, {"action", "publish"}});
  CHECK(pub["published"] == dir + "publish/" + base + "/TRAINING_LOG.md");
  CHECK(testing::ReadAll(file) ==
        before_publish);  // The run log is left as it is.
  const std::string training = testing::ReadAll(
      s.repo.path() + "/" + pub["published"].get<std::string>());
  {
    INFO(training);
    for (const std::string& kept : std::vector<std::string>{
             std::string("# ") + kTask + " \xE2\x80\x94 " + kDescription,
             "- run_type: experiment", "- config: `configs/small.yaml`",
             "- key settings: lr 3e-4, batch 32, 80 steps", "- final step: 80",
             "- start_train_loss: `2.5`", "- end_train_loss: `0.8`",
             "- start_val_loss: `2.6`", "- end_val_loss: `1.08`",
             std::string("- loss_one_liner: ") + kOneLiner,
             "config_resolved.yaml", "step_80", "- synced: " + Url(), kByHand,
             "The gap between train and val stays small.", "Note from the PI",
             "- checkpoint sign-off: pass: val loss 1.08 at step 80, still "
             "falling (passport sha256 `"})
      CHECK(Has(training, kept));
    // Job ids as the sanitizer promises (tools/runlog/sanitize.h): gone
    // everywhere from 5 characters on; a shorter one (a fresh Slurm's) could
    // equal a step or a date part, so it is gone where the text says job.
    for (const auto& j : job_ids) {
      if (j.size() >= 5) CHECK_FALSE(HasWord(training, j));
      for (const std::string& as_job :
           {"`" + j + "`", "job " + j, "slurm-" + j, j + ".out"})
        CHECK_FALSE(Has(training, as_job));
    }
    CHECK_FALSE(Has(training, id));
    CHECK_FALSE(Has(training, "execution_id"));
    CHECK_FALSE(Has(training, "hpc-mcp:begin"));
    CHECK_FALSE(Has(training, s.key));
    for (const auto& w : s.never_published) CHECK_FALSE(HasWord(training, w));
    // The nodes the run log names.
    const size_t node_at = before_publish.find("\n- node: ");
    if (node_at != std::string::npos) {
      const size_t from = node_at + 9;
      std::string nodes =
          before_publish.substr(from, before_publish.find('\n', from) - from);
      for (size_t at = 0; at <= nodes.size();) {
        size_t comma = nodes.find(',', at);
        if (comma == std::string::npos) comma = nodes.size();
        const std::string node = nodes.substr(at, comma - at);
        if (!node.empty()) CHECK_FALSE(HasWord(training, node));
        at = comma + 1;
      }
    }
  }

  // ---- The key: nowhere but in its token file. ----
  CheckNoKey("answers and notifications", a.Everything(), s.key);
  CheckNoKey("the server's log", log.text(), s.key);
  CheckNoKey("the journal",
             testing::ReadAll(s.repo.path() + "/.hpc-mcp/journal.jsonl"),
             s.key);
  CHECK(LocalFilesHolding(s.repo.path(), s.key).empty());
  CHECK(s.SiteFilesHoldingKey().empty());
}

TEST_CASE("a run on the local profile becomes a full record",
          "[records][local]") {
  auto site = Site::Local();
  RunRecords(*site);
}

TEST_CASE("a run on the Slurm testbed over SSH becomes a full record",
          "[records][testbed][integration]") {
  auto site = Site::Testbed();
  RunRecords(*site);
}

}  // namespace
}  // namespace hpc
