# CometBFT v0.38 wire types (ABCI 2.0 and the tendermint.types/crypto/version messages
# the dev chain needs), plus the two Google well-known types they import. One library:
# veil_proto_tendermint. Headers: "tendermint/abci/types.pb-c.h",
# "tendermint/types/types.pb-c.h", "tendermint/types/canonical.pb-c.h", ...,
# "google/protobuf/timestamp.pb-c.h".
veil_proto_library(veil_proto_tendermint FILES
  google/protobuf/timestamp.proto
  google/protobuf/duration.proto
  tendermint/version/types.proto
  tendermint/crypto/keys.proto
  tendermint/crypto/proof.proto
  tendermint/types/params.proto
  tendermint/types/validator.proto
  tendermint/types/types.proto
  tendermint/types/canonical.proto
  tendermint/abci/types.proto)
# protoc-c's *_INIT macro for a message whose oneof holds bytes (PublicKey) writes
# `{0}` for the union, which -Wall's -Wmissing-braces flags in every file that uses
# the macro; the initialiser is correct C, so users of these types do not get it.
target_compile_options(veil_proto_tendermint INTERFACE -Wno-missing-braces)
