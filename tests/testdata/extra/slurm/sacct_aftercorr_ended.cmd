# case: sacct (the backend's query) of the same arrays: each element 0's own rows, then the folded record "_[0-1]" of the element cancelled while pending, which names element 0 too: a=405 b=406
# captured: 2026-11-24T02:25:40Z, Slurm 22.05.8, as the test user over ssh (by hand, see tests/testdata/extra/README.md)
# rc: 0
# stderr: (empty)
SLURM_TIME_FORMAT=%s sacct --noheader --parsable2 --jobs=405,406 --format=JobID,State,ExitCode,Start,End,NodeList,Reason,Comment
