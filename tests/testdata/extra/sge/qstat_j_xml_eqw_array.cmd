# case: qstat -xml -j of an array (three tasks in Eqw, its cwd removed) that sge_qmaster reloaded from its spool after a restart, and a held job with a comment: eqw=102 tagged=452 -- comment hpc-mcp:eqwcase:one; 8.1.9 names each reloaded task's element "JATASK:     102."
# captured: 2026-11-24T01:19:06Z, Grid Engine 8.1.9, as the test user in a login shell (by hand, see tests/testdata/extra/README.md)
# rc: 0
# stderr: (empty)
qstat -xml -j 102,452
