# case: FindByComment's qstat while run runs and the rest wait: tag=22945 run=202 array=203 none=204 lt=205 dup=206 done=201 -- comments hpc-mcp:TAG:KEY (run: 'hpc-mcp:TAG:run|a b'; lt: hpc-mcp:TAG:x<y&z>"q' (held); dup: hpc-mcp:TAG:array; none: no context; done: finished, unknown to qstat -j)
# captured: 2026-11-23T08:35:51Z, Grid Engine 8.1.9, as the test user over ssh (by hand, see tests/testdata/extra/README.md)
# rc: 0
# stderr: (empty)
qstat -xml -u '$user'
