/* lc_json.h — light blocks from CometBFT's JSON (the RPC's /commit and /validators, and
 * the light-client conformance tests' files). Host only. */
#ifndef VEIL_HOST_LIGHTCLIENT_LC_JSON_H
#define VEIL_HOST_LIGHTCLIENT_LC_JSON_H

#include <jansson.h>

#include "common/status.h"
#include "trusted/lightclient/lc.h"

/* {"header": …, "commit": …} */
VEIL_MUST_CHECK veil_status lc_json_signed_header(const json_t *j, lc_light_block *out);
/* [{"address", "pub_key": {"type": "tendermint/PubKeyEd25519", "value"}, "voting_power"}]
 * VEIL_ERR_LC_VALSET_TOO_LARGE above LC_MAX_VALIDATORS; VEIL_ERR_LC_MALFORMED for
 * anything else unexpected, another key type included. */
VEIL_MUST_CHECK veil_status lc_json_validators(const json_t *arr, lc_validator_set *out);

#endif
