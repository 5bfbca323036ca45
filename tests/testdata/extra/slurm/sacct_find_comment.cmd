# case: FindByComment's sacct after those jobs ended or were cancelled (pending: before its --begin time): tag=22937 run=255 array=256 pending=257 none=258 done=254 dup=259 -- comments as in squeue_find_comment
# captured: 2026-11-23T08:36:02Z, Slurm 22.05.8, as the test user over ssh (by hand, see tests/testdata/extra/README.md)
# rc: 0
# stderr: (empty)
sacct --noheader --parsable2 -X --starttime=now-30days --endtime=now+3650days --format=JobID,Comment
