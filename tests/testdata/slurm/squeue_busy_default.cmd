# case: plain squeue at the same moment
# captured: 2026-11-23T06:49:19Z, Slurm 22.05.8, as the test user over ssh (scripts/testbed/capture.sh)
# rc: 0
# stderr: (empty)
squeue
