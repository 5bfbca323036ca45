# case: sacct for pending jobs (Start Unknown, Comment not stored yet)
# captured: 2026-11-23T06:49:22Z, Slurm 22.05.8, as the test user over ssh (scripts/testbed/capture.sh)
# rc: 0
# stderr: (empty)
sacct -X -P -n --format=JobID,State,ExitCode,Start,End,NodeList,Reason,Comment -j 12,14,15,16
