# case: qstat while sge_qmaster is down
# captured: 2026-11-23T06:51:23Z, Grid Engine 8.1.9, as the test user over ssh (scripts/testbed/capture.sh)
# rc: 1
# stderr: qstat_qmaster_down.err
qstat -xml
