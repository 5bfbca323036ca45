# case: sacct while slurmctld is down (slurmdbd answers)
# captured: 2026-11-23T06:51:14Z, Slurm 22.05.8, as the test user over ssh (scripts/testbed/capture.sh)
# rc: 0
# stderr: (empty)
sacct -X -P -n --format=JobID,State,ExitCode,Start,End,NodeList,Reason,Comment -S now-1hour --name=cap-ok
