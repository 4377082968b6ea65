"""Quality gates as blocking asset checks: reconciliation and GE suites on ODS, GE suites on ADS."""
