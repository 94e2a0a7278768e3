# The light client: CometBFT's conformance vectors and hostile light blocks.
veil_add_test(test_lightclient
  SOURCES test_lightclient.c
  LIBS veil_lightclient_host veil_lightclient veil_devchain)
