// Failure diagnosis on logs shaped like real failures
// (tests/testdata/failures/, see its README.md): every category, the
// precedence between log evidence and the scheduler's state, and the shape
// of the evidence an agent is shown.
#include "tools/runs/diagnosis.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <string>

#include "tests/support/testdata.h"

namespace hpc::runs {
namespace {

using cluster::JobState;
using testing::ReadTestdataFile;

DiagnosisInput Failed(std::string err, std::string out = "") {
  DiagnosisInput in;
  in.status.job_id = "4242";
  in.status.state = JobState::kFailed;
  in.status.native_state = "FAILED";
  in.status.exit_code = 1;
  in.status.nodes = "gpu07";
  in.elapsed_seconds = 3600;
  in.stderr_tail = std::move(err);
  in.stdout_tail = std::move(out);
  return in;
}

DiagnosisInput FailedWith(const std::string& err_file) {
  std::string text = ReadTestdataFile("failures/" + err_file);
  REQUIRE_FALSE(text.empty());
  return Failed(text);
}

// Every diagnosis obeys the evidence contract of diagnosis.h.
Diagnosis Run(const DiagnosisInput& in) {
  Diagnosis d = Diagnose(in);
  INFO("category " << d.category << ": " << d.summary);
  CHECK_FALSE(d.summary.empty());
  CHECK_FALSE(d.remediation.empty());
  CHECK(d.evidence.size() <= 5);
  for (const std::string& e : d.evidence) {
    INFO(e);
    CHECK(e.size() < 300);
    CHECK_FALSE(e.empty());
    CHECK(e.front() != ' ');
    CHECK(e.back() != ' ');
    CHECK(e.find('\n') == std::string::npos);
  }
  return d;
}

TEST_CASE("gpu_oom: the CUDA OOM exception comes first, with its numbers",
          "[unit][diagnosis]") {
  Diagnosis d = Run(FailedWith("cuda_oom.err"));
  CHECK(d.category == "gpu_oom");
  REQUIRE_FALSE(d.evidence.empty());
  CHECK_THAT(d.evidence[0],
             Catch::StartsWith("torch.OutOfMemoryError: CUDA out of memory."));
  CHECK_THAT(d.evidence[0],
             Catch::EndsWith("\xE2\x80\xA6"));  // Cut to under 300 bytes.
  CHECK_THAT(d.summary, Catch::Contains("2.00 GiB"));
  CHECK_THAT(d.summary, Catch::Contains("79.15 GiB"));
  CHECK_THAT(d.remediation, Catch::Contains("batch size"));
  CHECK_THAT(d.remediation, Catch::Contains("expandable_segments:True"));
  CHECK_FALSE(d.retryable);

  SECTION("the other ways CUDA reports it") {
    for (const char* line : {
             "RuntimeError: CUDA out of memory. Tried to allocate 20.00 MiB "
             "(GPU 0; 15.78 GiB "
             "total capacity; 14.21 GiB already allocated)",
             "RuntimeError: CUDA error: out of memory\nCUDA kernel errors "
             "might be asynchronously "
             "reported at some other API call, so the stacktrace below might "
             "be incorrect.",
             "RuntimeError: CUDA error: CUBLAS_STATUS_ALLOC_FAILED when "
             "calling "
             "`cublasCreate(handle)`",
         }) {
      INFO(line);
      CHECK(Run(Failed(line)).category == "gpu_oom");
    }
  }
  SECTION(
      "it wins over the scheduler's OUT_OF_MEMORY and over what other ranks "
      "print") {
    DiagnosisInput in = FailedWith("cuda_oom.err");
    in.status.state = JobState::kOutOfMemory;
    in.stderr_tail +=
        "[rank1]: torch.distributed.DistBackendError: NCCL error in: ...\n";
    CHECK(Run(in).category == "gpu_oom");
  }
}

TEST_CASE("host_oom: Slurm's oom_kill, OUT_OF_MEMORY, a SIGKILLed task, h_vmem",
          "[unit][diagnosis]") {
  Diagnosis slurm = Run(FailedWith("slurm_oom_kill.err"));
  CHECK(slurm.category == "host_oom");
  CHECK_THAT(slurm.evidence[0],
             Catch::Contains("oom_kill event in StepId=4242.batch"));
  CHECK_THAT(slurm.remediation, Catch::Contains("--mem"));
  REQUIRE(slurm.evidence.size() >= 2);
  CHECK_THAT(slurm.evidence[1],
             Catch::EndsWith("Killed                  python train.py --config "
                             "configs/base.yaml"));

  DiagnosisInput state = Failed("");
  state.status.state = JobState::kOutOfMemory;
  state.status.native_state = "OUT_OF_MEMORY";
  state.status.exit_code = 0;
  state.status.signal = 9;
  Diagnosis s = Run(state);
  CHECK(s.category == "host_oom");
  CHECK_THAT(s.summary, Catch::Contains("OUT_OF_MEMORY"));
  CHECK_THAT(s.evidence.back(), Catch::StartsWith("scheduler: OUT_OF_MEMORY"));

  DiagnosisInput killed = Failed(
      "/var/spool/slurmd/job4246/slurm_script: line 14: 31337 Killed           "
      "       python "
      "train.py\n");
  killed.status.exit_code = 137;
  CHECK(Run(killed).category == "host_oom");

  SECTION("Grid Engine: exit 137 and a bare Killed") {
    DiagnosisInput sge = Failed("Killed\n");
    sge.status.native_state =
        "failed=100 : assumedly after job exit_status=137";
    sge.status.exit_code = 137;
    sge.status.signal = 9;
    CHECK(Run(sge).category == "host_oom");
  }
  SECTION("Grid Engine: h_vmem exceeded") {
    CHECK(Run(Failed("job 8.1 exceeds job hard limit \"h_vmem\" of queue "
                     "\"all.q@node01\" "
                     "(4294967296.00000 > limit:4294967296.00000) - sending "
                     "SIGKILL\n"))
              .category == "host_oom");
  }
  SECTION("DataLoader workers killed, numpy allocation") {
    CHECK(Run(Failed("RuntimeError: DataLoader worker (pid 31400) is killed by "
                     "signal: Killed.\n"))
              .category == "host_oom");
    CHECK(
        Run(Failed(
                "numpy.core._exceptions._ArrayMemoryError: Unable to allocate "
                "37.3 GiB for "
                "an array with shape (200000, 50000) and data type float32\n"))
            .category == "host_oom");
  }
  SECTION("a SIGKILL at the time limit is the time limit") {
    DiagnosisInput sge = Failed("Killed\n");
    sge.status.state = JobState::kTimeout;
    sge.status.native_state = "failed=37 exit_status=137";
    sge.status.reason = "qmaster enforced h_rt, h_cpu, or h_vmem limit";
    sge.status.exit_code = 137;
    sge.status.signal = 9;
    CHECK(Run(sge).category == "timeout");
  }
  SECTION("exit 137 alone is not proof") {
    DiagnosisInput bare = Failed("");
    bare.status.exit_code = 137;
    CHECK(Run(bare).category != "host_oom");
  }
}

TEST_CASE(
    "nan_loss: from the metrics, from the log's words, also for a completed "
    "job",
    "[unit][diagnosis]") {
  DiagnosisInput in = FailedWith("nan_loss.err");
  in.stdout_tail = ReadTestdataFile("failures/nan_loss.out");
  in.newest_checkpoint = "out/ckpt_1400.pt";
  Diagnosis d = Run(in);
  CHECK(d.category == "nan_loss");
  CHECK_THAT(d.evidence[0],
             Catch::StartsWith("RuntimeError: Loss is NaN at step 1500"));
  CHECK_THAT(d.summary, Catch::Contains("at step 1300"));
  CHECK_THAT(d.summary,
             Catch::Contains("last finite loss was 1.7 at step 1200"));
  CHECK_THAT(d.remediation, Catch::Contains("before step 1300"));
  CHECK_THAT(d.remediation, Catch::Contains("out/ckpt_1400.pt"));
  CHECK_THAT(d.remediation, Catch::Contains("learning rate"));
  CHECK_THAT(d.remediation, Catch::Contains("max_grad_norm"));
  bool quoted_metric_line = false;
  for (const auto& e : d.evidence)
    if (e.find("loss nan") != std::string::npos) quoted_metric_line = true;
  CHECK(quoted_metric_line);

  SECTION("a completed job whose loss ended NaN") {
    DiagnosisInput done;
    done.status.state = JobState::kCompleted;
    done.status.exit_code = 0;
    done.metrics = ExtractMetrics(ReadTestdataFile("failures/nan_loss.out"));
    CHECK(Run(done).category == "nan_loss");
  }
  SECTION("metrics alone, without the log text") {
    DiagnosisInput m = Failed("");
    MetricPoint ok, bad;
    ok.step = 10;
    ok.loss = 2.0;
    bad.step = 20;
    bad.loss = std::nan("");
    bad.line = 57;
    m.metrics = {ok, bad};
    Diagnosis md = Run(m);
    CHECK(md.category == "nan_loss");
    REQUIRE(md.evidence.size() == 1);
    CHECK(md.evidence[0] == "metrics: loss nan at step 20 (log line 57)");
  }
  SECTION("a NaN the run recovered from does not decide") {
    DiagnosisInput m = Failed("");
    MetricPoint bad, ok;
    bad.loss = std::nan("");
    ok.loss = 2.0;
    m.metrics = {bad, ok};
    CHECK(Run(m).category != "nan_loss");
  }
}

TEST_CASE("a completed job without NaN loss is none", "[unit][diagnosis]") {
  DiagnosisInput done;
  done.status.state = JobState::kCompleted;
  done.status.exit_code = 0;
  done.stdout_tail = ReadTestdataFile("failures/hf_trainer.out");
  Diagnosis d = Diagnose(done);
  CHECK(d.category == "none");
  CHECK(d.evidence.empty());
  CHECK_FALSE(d.retryable);
}

TEST_CASE("nccl_error: watchdog timeouts and network failures",
          "[unit][diagnosis]") {
  Diagnosis hang = Run(FailedWith("nccl_timeout.err"));
  CHECK(hang.category == "nccl_error");
  CHECK_THAT(
      hang.evidence[0],
      Catch::StartsWith("[E1123 10:42:17.123456789 ProcessGroupNCCL.cpp:616]"));
  CHECK_THAT(hang.evidence[0],
             Catch::Contains("Watchdog caught collective operation timeout"));
  CHECK_THAT(hang.summary, Catch::Contains("timed out"));
  CHECK_THAT(hang.remediation, Catch::Contains("NCCL_DEBUG=INFO"));
  CHECK_THAT(hang.remediation, Catch::Contains("timeout"));
  CHECK_THAT(hang.remediation, Catch::Contains("gpu07"));

  Diagnosis net = Run(FailedWith("nccl_remote.err"));
  CHECK(net.category == "nccl_error");
  CHECK_THAT(
      net.evidence[0],
      Catch::StartsWith("torch.distributed.DistBackendError: NCCL error in:"));
  for (const auto& e : net.evidence)
    CHECK_THAT(e, !Catch::StartsWith("[rank1]"));

  CHECK(Run(Failed(
                "gpu08:40112:40250 [1] NCCL WARN Cuda failure 'out of memory'\n"
                "ncclInternalError: Internal check failed.\n"))
            .category ==
        "gpu_oom");  // The OOM is the cause, NCCL the messenger.
}

TEST_CASE("import_error names the module and the setup lines",
          "[unit][diagnosis]") {
  Diagnosis d = Run(FailedWith("import_error.err"));
  CHECK(d.category == "import_error");
  CHECK(d.evidence[0] == "ModuleNotFoundError: No module named 'transformers'");
  CHECK_THAT(d.summary, Catch::Contains("'transformers'"));
  CHECK_THAT(d.remediation, Catch::Contains("shell.setup"));
  CHECK_THAT(d.remediation, Catch::Contains("pip install transformers"));
  CHECK_THAT(d.remediation,
             Catch::Contains("/home/alice/venvs/train/bin/activate"));

  CHECK_THAT(Run(Failed("ModuleNotFoundError: No module named 'sklearn'\n"))
                 .remediation,
             Catch::Contains("pip install scikit-learn"));
  Diagnosis name = Run(
      Failed("ImportError: cannot import name 'LlamaFlashAttention2' from "
             "'transformers.models.llama.modeling_llama' "
             "(/home/alice/venvs/train/lib/python3.11/"
             "site-packages/transformers/models/llama/modeling_llama.py)\n"));
  CHECK(name.category == "import_error");
  CHECK_THAT(name.summary, Catch::Contains("'LlamaFlashAttention2'"));
  Diagnosis lib =
      Run(Failed("ImportError: libcudart.so.12: cannot open shared object "
                 "file: No such file or directory\n"));
  CHECK(lib.category == "import_error");
  CHECK_THAT(lib.summary, Catch::Contains("libcudart.so.12"));
  CHECK_THAT(lib.remediation, Catch::Contains("module load"));
}

TEST_CASE("file_not_found names the path", "[unit][diagnosis]") {
  Diagnosis d = Run(FailedWith("file_not_found.err"));
  CHECK(d.category == "file_not_found");
  CHECK(d.evidence[0] ==
        "FileNotFoundError: [Errno 2] No such file or directory: "
        "'data/train.jsonl'");
  CHECK_THAT(d.summary, Catch::EndsWith("data/train.jsonl"));
  CHECK_THAT(d.remediation, Catch::Contains("'data/train.jsonl'"));

  Diagnosis script =
      Run(Failed("python: can't open file '/home/alice/proj/trian.py': [Errno "
                 "2] No such file or directory\n"));
  CHECK(script.category == "file_not_found");
  CHECK_THAT(script.summary, Catch::EndsWith("/home/alice/proj/trian.py"));

  SECTION("shell noise does not outvote the exception that ended the run") {
    Diagnosis d2 =
        Run(Failed("/var/spool/slurmd/job1/slurm_script: line 3: "
                   "/etc/profile.d/lmod.sh: No such file or "
                   "directory\nTraceback (most recent call last):\n  File "
                   "\"train.py\", line 3, in "
                   "<module>\n    x = int(cfg['steps'])\nValueError: invalid "
                   "literal for int() with base "
                   "10: 'ten'\n"));
    CHECK(d2.category == "unknown");
    CHECK(d2.evidence[0] ==
          "ValueError: invalid literal for int() with base 10: 'ten'");
  }
}

TEST_CASE("permission_denied names the path", "[unit][diagnosis]") {
  Diagnosis d = Run(FailedWith("permission_denied.err"));
  CHECK(d.category == "permission_denied");
  CHECK_THAT(
      d.evidence[0],
      Catch::StartsWith("PermissionError: [Errno 13] Permission denied"));
  CHECK_THAT(d.summary,
             Catch::Contains("/shared/datasets/imagenet/ckpt/step_500.ckpt"));
  CHECK_THAT(d.remediation, Catch::Contains("work_root"));
  CHECK(
      Run(Failed(
              "OSError: [Errno 30] Read-only file system: '/datasets/cache'\n"))
          .category == "permission_denied");
}

TEST_CASE("disk_full: no space left, quota exceeded", "[unit][diagnosis]") {
  DiagnosisInput in = FailedWith("disk_full.err");
  in.newest_checkpoint = "out/checkpoint-1000";
  Diagnosis d = Run(in);
  CHECK(d.category == "disk_full");
  CHECK_THAT(d.evidence[0],
             Catch::StartsWith("safetensors_rust.SafetensorError:"));
  CHECK_THAT(d.remediation, Catch::Contains("save_total_limit"));
  CHECK_THAT(d.remediation, Catch::Contains("out/checkpoint-1000"));
  Diagnosis q = Run(Failed(
      "OSError: [Errno 122] Disk quota exceeded: 'out/checkpoint-1500'\n"));
  CHECK(q.category == "disk_full");
  CHECK_THAT(q.summary, Catch::Contains("quota"));
}

TEST_CASE("segfault: the crash line, or signal 11 alone", "[unit][diagnosis]") {
  Diagnosis d = Run(FailedWith("segfault.err"));
  CHECK(d.category == "segfault");
  CHECK(d.evidence[0] == "Fatal Python error: Segmentation fault");
  CHECK_THAT(d.remediation, Catch::Contains("PYTHONFAULTHANDLER=1"));
  CHECK_THAT(d.remediation, Catch::Contains("--exclude=gpu07"));

  DiagnosisInput sig = Failed("");
  sig.status.exit_code = 0;
  sig.status.signal = 11;
  CHECK(Run(sig).category == "segfault");
}

TEST_CASE("missing_log_dir: the log directory must exist before submit",
          "[unit][diagnosis]") {
  DiagnosisInput in = Failed("");
  in.log_dir_missing = true;
  in.stdout_missing = true;
  in.elapsed_seconds = 0;
  Diagnosis d = Run(in);
  CHECK(d.category == "missing_log_dir");
  CHECK_THAT(d.remediation, Catch::Contains("must exist before submit"));
  CHECK_THAT(d.remediation, Catch::Contains("submit creates it"));
}

TEST_CASE("timeout: resume from the newest checkpoint with a longer limit",
          "[unit][diagnosis]") {
  DiagnosisInput in = FailedWith("timeout_sigterm.err");
  in.status.state = JobState::kTimeout;
  in.status.native_state = "TIMEOUT";
  in.status.exit_code = 0;
  in.status.signal = 15;
  in.time_limit = "04:00:00";
  in.elapsed_seconds = 4 * 3600;
  in.newest_checkpoint = "/scratch/alice/run/out/checkpoint-4000";
  Diagnosis d = Run(in);
  CHECK(d.category == "timeout");  // Not the RuntimeError from the SIGTERM.
  CHECK_THAT(d.evidence[0], Catch::Contains("DUE TO TIME LIMIT"));
  CHECK_THAT(d.summary, Catch::Contains("04:00:00"));
  CHECK_THAT(
      d.remediation,
      Catch::StartsWith("Resume from /scratch/alice/run/out/checkpoint-4000"));
  CHECK_THAT(d.remediation, Catch::Contains("06:00:00 (it was 04:00:00)"));
  CHECK_FALSE(d.retryable);

  SECTION("the rest of the run is estimated from the progress bar") {
    in.stdout_tail =
        " 45%|████▌     | 4500/10000 [3:59:00<4:52:00,  0.31it/s]\n";
    Diagnosis e = Run(in);
    CHECK_THAT(e.remediation,
               Catch::Contains("at step 4500 of 10000 after 4.0 h"));
    // 4 h * 5500 / 4500 = 4.9 h, with a margin and rounded up: 06:30:00.
    CHECK_THAT(e.remediation, Catch::Contains("a time limit of 06:30:00"));
  }
  SECTION("no estimate from Lightning's per-epoch bar") {
    in.stdout_tail =
        "Epoch 2:  45%|####5     | 450/1000 [01:10<01:26,  6.38it/s, v_num=0, "
        "train_loss=0.1]\n";
    Diagnosis e = Run(in);
    CHECK_THAT(e.remediation, !Catch::Contains("Progress:"));
    CHECK_THAT(e.remediation, Catch::Contains("06:00:00"));
  }
  SECTION("without a checkpoint the run starts over") {
    in.newest_checkpoint.clear();
    Diagnosis e = Run(in);
    CHECK_THAT(e.remediation, Catch::StartsWith("No checkpoint was found"));
    CHECK_THAT(e.remediation, Catch::Contains("save_steps"));
  }
  SECTION("Slurm's line alone says it, whatever the state") {
    DiagnosisInput text = Failed(
        "slurmstepd: error: *** JOB 4243 ON gpu03 CANCELLED AT "
        "2026-11-23T14:00:05 DUE TO TIME "
        "LIMIT ***\n");
    text.time_limit = "1-00:00:00";
    Diagnosis t = Run(text);
    CHECK(t.category == "timeout");
    CHECK_THAT(t.remediation, Catch::Contains("1-12:00:00"));
  }
  SECTION("NCCL noise from the dying ranks does not override the state") {
    in.stderr_tail +=
        "[rank0]:[E1123 14:00:06 ProcessGroupNCCL.cpp:1595] NCCL error: remote "
        "process exited\n";
    Diagnosis e = Run(in);
    CHECK(e.category == "timeout");
    CHECK_THAT(e.summary, Catch::Contains("also shows nccl_error"));
  }
}

TEST_CASE("node_fail and preempted are retryable", "[unit][diagnosis]") {
  DiagnosisInput node = Failed(
      "[rank0]: torch.distributed.DistBackendError: NCCL error in: ...\n");
  node.status.state = JobState::kNodeFail;
  node.status.native_state = "NODE_FAIL";
  node.newest_checkpoint = "out/checkpoint-500";
  Diagnosis n = Run(node);
  CHECK(n.category == "node_fail");
  CHECK(n.retryable);
  CHECK_THAT(n.remediation,
             Catch::Contains("resuming from out/checkpoint-500"));
  CHECK_THAT(n.remediation, Catch::Contains("--exclude=gpu07"));

  DiagnosisInput pre = Failed(
      "slurmstepd: error: *** JOB 4261 ON gpu04 CANCELLED AT "
      "2026-11-23T11:05:12 DUE TO "
      "PREEMPTION ***\n");
  pre.status.state = JobState::kPreempted;
  pre.status.native_state = "PREEMPTED";
  Diagnosis p = Run(pre);
  CHECK(p.category == "preempted");
  CHECK(p.retryable);
  CHECK_THAT(p.evidence[0], Catch::Contains("DUE TO PREEMPTION"));
  CHECK_THAT(p.remediation, Catch::Contains("--requeue"));
}

TEST_CASE("cancelled says by whom", "[unit][diagnosis]") {
  DiagnosisInput in = Failed(
      "slurmstepd: error: *** JOB 4260 ON gpu02 CANCELLED AT "
      "2026-11-23T11:05:12 ***\n");
  in.status.state = JobState::kCancelled;
  in.status.native_state = "CANCELLED by 1001";
  Diagnosis d = Run(in);
  CHECK(d.category == "cancelled");
  CHECK_THAT(d.summary, Catch::EndsWith("by uid 1001"));
  CHECK_THAT(d.remediation, Catch::Contains("getent passwd 1001"));
  CHECK_THAT(d.evidence[0], Catch::StartsWith("scheduler: CANCELLED by 1001"));
  CHECK_FALSE(d.retryable);

  SECTION("by root") {
    in.status.native_state = "CANCELLED by 0";
    CHECK_THAT(Run(in).summary, Catch::Contains("root"));
  }
  SECTION("by Slurm, for a failed dependency") {
    in.status.native_state = "CANCELLED";
    in.status.reason =
        "DependencyNeverSatisfied: a job it depends on (afterok) did not "
        "complete";
    Diagnosis dep = Run(in);
    CHECK(dep.category == "cancelled");
    CHECK_THAT(dep.summary, Catch::Contains("depends on"));
  }
}

TEST_CASE("quick_death: died within a minute with nothing to show for it",
          "[unit][diagnosis]") {
  DiagnosisInput in = Failed("");
  in.elapsed_seconds = 4;
  in.stdout_missing = true;
  Diagnosis d = Run(in);
  CHECK(d.category == "quick_death");
  CHECK(d.retryable);
  CHECK_THAT(d.remediation, Catch::Contains("smoke job"));
  CHECK_THAT(d.remediation, Catch::Contains("gpu07"));
  CHECK_THAT(d.evidence[0],
             Catch::StartsWith("scheduler: FAILED, exit code 1, nodes gpu07"));

  SECTION("Slurm's signal 53 (exit code 0:53), no output") {
    DiagnosisInput s = Failed("");
    s.status.exit_code = 0;
    s.status.signal = 53;
    s.elapsed_seconds.reset();
    s.status.start_time = 1000;
    s.status.end_time = 1000;
    Diagnosis q = Run(s);
    CHECK(q.category == "quick_death");
    CHECK_THAT(q.summary, Catch::Contains("signal 53"));
  }
  SECTION("a quick death with an exception is that exception") {
    in.stderr_tail =
        "Traceback (most recent call last):\n  File \"train.py\", line 1, in "
        "<module>\n"
        "KeyError: 'model'\n";
    CHECK(Run(in).category == "unknown");
  }
  SECTION("not quick") {
    in.elapsed_seconds = 61;
    CHECK(Run(in).category == "unknown");
  }
}

TEST_CASE("unknown: the final exception, then the last lines of stderr",
          "[unit][diagnosis]") {
  std::string err;
  for (int i = 1; i <= 9; ++i) err += "warning " + std::to_string(i) + "\n";
  Diagnosis d = Run(Failed(err, "stdout line\n"));
  CHECK(d.category == "unknown");
  REQUIRE(d.evidence.size() == 5);
  CHECK(d.evidence[0] == "warning 5");
  CHECK(d.evidence[4] == "warning 9");

  Diagnosis out = Run(Failed("", "  only stdout  \n\n"));
  REQUIRE(out.evidence.size() == 1);
  CHECK(out.evidence[0] == "only stdout");

  SECTION(
      "torchrun's ChildFailedError is a wrapper; the rank's exception is the "
      "cause") {
    Diagnosis w = Run(Failed(
        "[rank0]: Traceback (most recent call last):\n"
        "[rank0]:   File \"/home/alice/proj/train.py\", line 9, in <module>\n"
        "[rank0]:     assert cfg.batch_size % world == 0\n"
        "[rank0]: AssertionError: batch size must divide by the world size\n"
        "Traceback (most recent call last):\n"
        "  File \"/home/alice/venvs/train/bin/torchrun\", line 8, in <module>\n"
        "torch.distributed.elastic.multiprocessing.errors.ChildFailedError: \n"
        "============================================================\n"));
    CHECK(w.category == "unknown");
    CHECK(w.evidence[0] ==
          "AssertionError: batch size must divide by the world size");
    CHECK_THAT(w.summary, Catch::Contains("AssertionError"));
  }
  SECTION("long lines are cut on a character boundary") {
    std::string line = "E: " + std::string(200, 'x');
    for (int i = 0; i < 100; ++i) line += "\xC3\xA9";  // é
    Diagnosis l = Run(Failed(line + "\n"));
    CHECK(l.evidence[0].size() <= 299);
    CHECK_THAT(l.evidence[0], Catch::EndsWith("\xC3\xA9\xE2\x80\xA6"));
  }
}

TEST_CASE("ToJson carries every field", "[unit][diagnosis]") {
  Diagnosis d;
  d.category = "node_fail";
  d.summary = "s";
  d.evidence = {"a", "b"};
  d.remediation = "r";
  d.retryable = true;
  CHECK(ToJson(d) == nlohmann::json{{"category", "node_fail"},
                                    {"summary", "s"},
                                    {"evidence", {"a", "b"}},
                                    {"remediation", "r"},
                                    {"retryable", true}});
}

}  // namespace
}  // namespace hpc::runs
