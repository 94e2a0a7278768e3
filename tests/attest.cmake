# Intel SGX DCAP quotes against Intel's QVL sample data (tests/vectors/dcap-intel-sample).
veil_add_test(test_dcap SOURCES test_dcap.c LIBS veil_attest_dcap)
