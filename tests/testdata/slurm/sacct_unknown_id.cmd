# case: sacct of an unknown id (empty, rc 0)
# captured: 2026-11-23T06:50:54Z, Slurm 22.05.8, as the test user over ssh (scripts/testbed/capture.sh)
# rc: 0
# stderr: (empty)
sacct -X -P -n --format=JobID,State,ExitCode,Start,End,NodeList,Reason,Comment -j 999999
