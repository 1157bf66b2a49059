# fuzz_json: see tests/fuzz/local.mk for the pattern (not written yet)
