# veil_add_enclave(NAME PRODID <n> SVN <n> [DEBUG] [KEY <file>] SOURCES ... [LIBS ...]
#                  [DEFINES ...])
#
# Builds an enclave image (a shared object from trusted-core sources only, linked with
# the sim backend's trusted runtime) and signs it with the build's development signer
# key into ${CMAKE_BINARY_DIR}/enclaves/<NAME>.signed.so. The signer key is generated
# at build time (never committed) by `veil enclave keygen`.
#
# Test enclaves are signed with a separate test signer key (tests/CMakeLists.txt sets
# VEIL_DEFAULT_SIGNER_KEY to it): a test image may do what no production image does
# (quote report data its host chose, for one), so it must never share the production
# images' MRSIGNER, or a policy pinning that signer would accept it.
set(VEIL_DEV_SIGNER_KEY ${CMAKE_BINARY_DIR}/dev-signer.key)
set(VEIL_TEST_SIGNER_KEY ${CMAKE_BINARY_DIR}/test-signer.key)
set(VEIL_ENCLAVE_DIR ${CMAKE_BINARY_DIR}/enclaves)

function(veil_add_enclave name)
  cmake_parse_arguments(E "DEBUG" "PRODID;SVN;KEY" "SOURCES;LIBS;DEFINES" ${ARGN})
  if(NOT E_KEY)
    set(E_KEY ${VEIL_DEV_SIGNER_KEY})
    if(VEIL_DEFAULT_SIGNER_KEY)
      set(E_KEY ${VEIL_DEFAULT_SIGNER_KEY})
    endif()
  endif()
  add_library(${name} MODULE ${E_SOURCES})
  set_target_properties(${name} PROPERTIES PREFIX "" OUTPUT_NAME ${name}
                        C_VISIBILITY_PRESET hidden
                        LIBRARY_OUTPUT_DIRECTORY ${VEIL_ENCLAVE_DIR})
  target_compile_definitions(${name} PRIVATE VEIL_TRUSTED=1 ${E_DEFINES})
  target_link_libraries(${name} PRIVATE ${E_LIBS} veil_tee_trusted veil_tee_sim_trusted veil_crypto
                        veil_common)
  target_link_options(${name} PRIVATE
                      -Wl,--version-script=${CMAKE_SOURCE_DIR}/src/tee/sim/enclave.map)
  # Every import must resolve at link time, except under clang's sanitizers (make
  # fuzz), whose runtime lives only in the executable that loads the image.
  if(NOT VEIL_FUZZ)
    target_link_options(${name} PRIVATE -Wl,--no-undefined -Wl,-z,defs)
  endif()
  set(debug_opt "")
  if(E_DEBUG)
    set(debug_opt DEBUG)
  endif()
  veil_sign_enclave(${name} ${name} PRODID ${E_PRODID} SVN ${E_SVN} KEY ${E_KEY} ${debug_opt})
endfunction()

# Extra signatures of an already built image (tests: other signer, other SVN).
function(veil_sign_enclave image_target out_name)
  cmake_parse_arguments(S "DEBUG" "PRODID;SVN;KEY" "" ${ARGN})
  if(NOT S_KEY)
    set(S_KEY ${VEIL_DEV_SIGNER_KEY})
    if(VEIL_DEFAULT_SIGNER_KEY)
      set(S_KEY ${VEIL_DEFAULT_SIGNER_KEY})
    endif()
  endif()
  set(debug_flag "")
  if(S_DEBUG)
    set(debug_flag "--debug")
  endif()
  set(signed ${VEIL_ENCLAVE_DIR}/${out_name}.signed.so)
  veil_key_dependency(${S_KEY} key_dep)
  add_custom_command(
    OUTPUT ${signed}
    COMMAND veil-enclave sign --key ${S_KEY} --prodid ${S_PRODID} --svn ${S_SVN}
            ${debug_flag} $<TARGET_FILE:${image_target}> --out ${signed} --force
    DEPENDS ${image_target} veil-enclave ${key_dep}
    COMMENT "Signing ${out_name}")
  add_custom_target(${out_name}_signed ALL DEPENDS ${signed})
endfunction()

# Keys are generated once: their commands name `veil-enclave` (a target-level dependency)
# but do not depend on its file, so rebuilding it never asks for a new key. Signing uses
# veil-enclave, not veil: relinking veil re-signs nothing.
add_custom_command(
  OUTPUT ${VEIL_DEV_SIGNER_KEY}
  COMMAND veil-enclave keygen --out ${VEIL_DEV_SIGNER_KEY}
  COMMENT "Generating the development enclave signer key")
add_custom_target(veil_dev_signer_key DEPENDS ${VEIL_DEV_SIGNER_KEY})
add_custom_command(
  OUTPUT ${VEIL_TEST_SIGNER_KEY}
  COMMAND veil-enclave keygen --out ${VEIL_TEST_SIGNER_KEY}
  COMMENT "Generating the test enclave signer key")
add_custom_target(veil_test_signer_key DEPENDS ${VEIL_TEST_SIGNER_KEY})

# Custom-command outputs are only visible in their own directory: depend on the dev
# key through its target, on other keys through their file.
function(veil_key_dependency key out_var)
  if(key STREQUAL VEIL_DEV_SIGNER_KEY)
    set(${out_var} veil_dev_signer_key PARENT_SCOPE)
  elseif(key STREQUAL VEIL_TEST_SIGNER_KEY)
    set(${out_var} veil_test_signer_key PARENT_SCOPE)
  else()
    set(${out_var} ${key} PARENT_SCOPE)
  endif()
endfunction()
