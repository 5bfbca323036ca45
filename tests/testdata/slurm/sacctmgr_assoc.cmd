# case: preflight: the user's associations (accounts)
# captured: 2026-11-23T06:49:12Z, Slurm 22.05.8, as the test user over ssh (scripts/testbed/capture.sh)
# rc: 0
# stderr: (empty)
sacctmgr show assoc -P where user=$(id -un)
