# The TDBE's peer protocol decoders (src/trusted/tdbe/tdbe_msg.c): frame header,
# Request, Response; and the membership check on a host's answer (tdbe_member.c).
# Corpus: fuzz/corpus/tdbe_msg/ (docs/tdbe.md).
veil_add_fuzzer(fuzz_tdbe_msg SOURCES fuzz_tdbe_msg.c LIBS veil_tdbe_msg)
