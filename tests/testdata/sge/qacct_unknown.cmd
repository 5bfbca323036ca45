# case: qacct of an unknown id
# captured: 2026-11-23T06:49:43Z, Grid Engine 8.1.9, as the test user over ssh (scripts/testbed/capture.sh)
# rc: 1
# stderr: qacct_unknown.err
qacct -j 999999
