# The light client's light-block decoder (src/trusted/lightclient/lc_wire.c) and the
# verifier behind it. Corpus: fuzz/corpus/lightblock/ (regenerate with
# VEIL_LC_WRITE_CORPUS=<dir> test_lightclient).
veil_add_fuzzer(fuzz_lightblock SOURCES fuzz_lightblock.c LIBS veil_lightclient veil_cmt veil_cmt_mem_host
  MUTATIONS 500)
