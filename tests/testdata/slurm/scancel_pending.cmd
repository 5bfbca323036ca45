# case: scancel of a pending job (silent)
# captured: 2026-11-23T06:49:23Z, Slurm 22.05.8, as the test user over ssh (scripts/testbed/capture.sh)
# rc: 0
# stderr: (empty)
scancel 12
