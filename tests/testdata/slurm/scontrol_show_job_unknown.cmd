# case: scontrol show job of an unknown id
# captured: 2026-11-23T06:50:53Z, Slurm 22.05.8, as the test user over ssh (scripts/testbed/capture.sh)
# rc: 1
# stderr: scontrol_show_job_unknown.err
scontrol show job -o 999999
