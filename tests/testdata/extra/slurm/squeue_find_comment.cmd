# case: FindByComment's squeue while array task 1 runs (0 done, 2-3 pending): tag=22937 run=255 array=256 pending=257 none=258 done=254 dup=259 -- comments hpc-mcp:TAG:KEY (run: 'hpc-mcp:TAG:run|a b'; done and dup: hpc-mcp:TAG:dup; none: no comment)
# captured: 2026-11-23T08:35:45Z, Slurm 22.05.8, as the test user over ssh (by hand, see tests/testdata/extra/README.md)
# rc: 0
# stderr: (empty)
squeue --me --noheader --states=all '--format=%F|%k'
