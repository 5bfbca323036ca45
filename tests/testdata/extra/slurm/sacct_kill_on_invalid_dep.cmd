# case: sacct with steps: fail=113 never=114 (afterok:fail, --kill-on-invalid-dep=yes)
# captured: 2026-11-23T07:25:14Z, Slurm 22.05.8, as the test user over ssh (by hand, see tests/testdata/extra/README.md)
# rc: 0
# stderr: (empty)
sacct --noheader --parsable2 --jobs=113,114 --format=JobID,State,ExitCode,Start,End,NodeList,Reason,Comment
