"""The province-scale benchmark (issue 7): workbook generator, naive baseline, harness (`make bench`)."""
