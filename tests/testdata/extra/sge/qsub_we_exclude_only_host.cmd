# case: qsub -w e excluding the only execution host (vm)
# captured: 2026-11-24T02:08:03Z, Grid Engine 8.1.9, as the test user over ssh (by hand, see tests/testdata/extra/README.md)
# rc: 1
# stderr: qsub_we_exclude_only_host.err
qsub -terse -w e -l 'h=!vm' -b y -o /dev/null -j y true
