# case: OUT_OF_MEMORY: --mem=50M, allocates 300 MB (cgroup v1)
# captured: 2026-11-23T06:49:17Z, Slurm 22.05.8, as the test user over ssh (scripts/testbed/capture.sh)
# rc: 0
# stderr: (empty)
scontrol show job -o 10
