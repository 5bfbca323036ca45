# case: qstat -xml -j of an array (three tasks in Eqw, its cwd missing) that sge_qmaster reloaded from its spool after a restart, and a held job with a comment: eqw=1040 tagged=1041 -- comment hpc-mcp:eqwcase:one; 8.1.9 names each reloaded task's element "JATASK:    1040." (the id right-aligned in 8 columns)
# captured: 2026-11-24T03:36:26Z, Grid Engine 8.1.9, as the test user over ssh (by hand, see tests/testdata/extra/README.md)
# rc: 0
# stderr: (empty)
qstat -xml -j 1040,1041
