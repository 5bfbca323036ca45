# case: scancel of an unknown id
# captured: 2026-11-23T06:50:54Z, Slurm 22.05.8, as the test user over ssh (scripts/testbed/capture.sh)
# rc: 0
# stderr: (empty)
scancel 999999
