# case: PENDING jobs: BeginTime, Dependency, DependencyNeverSatisfied, PartitionTimeLimit
# captured: 2026-11-23T06:49:19Z, Slurm 22.05.8, as the test user over ssh (scripts/testbed/capture.sh)
# rc: 1
# stderr: scontrol_show_job_pending.err
scontrol show job -o 12 14 15 16
