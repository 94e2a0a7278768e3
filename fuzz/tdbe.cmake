# The TDBE's peer protocol decoders (src/trusted/tdbe/tdbe_msg.c): frame header,
# Request, Response (key and tx data); the membership check on a host's answer
# (tdbe_member.c); the checks of served blocks and output records (tdbe_txdata.c), with
# the importing TVE's parser of the same block records (tve_store_block_parse, hence
# veil_tve_host). Corpus: fuzz/corpus/tdbe_msg/ (docs/tdbe.md).
veil_add_fuzzer(fuzz_tdbe_msg SOURCES fuzz_tdbe_msg.c LIBS veil_tdbe_msg veil_tve_host)
