# case: sacct with steps (batch/extern), same jobs
# captured: 2026-11-23T06:50:50Z, Slurm 22.05.8, as the test user over ssh (scripts/testbed/capture.sh)
# rc: 0
# stderr: (empty)
sacct -P -n --format=JobID,State,ExitCode,Start,End,NodeList,Reason,Comment -j 7,8,9,10,11,12,13,14,15,16,6,17,22,23
