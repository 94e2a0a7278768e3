# veil_proto_library(NAME FILES a.proto b.proto ...)
# Compiles .proto files under proto/ with protoc-c into a static library.
function(veil_proto_library name)
  cmake_parse_arguments(P "" "" "FILES" ${ARGN})
  set(srcs "")
  foreach(f ${P_FILES})
    get_filename_component(base ${f} NAME_WE)
    get_filename_component(dir ${f} DIRECTORY)
    set(out_dir ${CMAKE_BINARY_DIR}/proto/${dir})
    set(c ${out_dir}/${base}.pb-c.c)
    set(h ${out_dir}/${base}.pb-c.h)
    add_custom_command(
      OUTPUT ${c} ${h}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/proto
      COMMAND ${PROTOC_C} --proto_path=${CMAKE_SOURCE_DIR}/proto
              --c_out=${CMAKE_BINARY_DIR}/proto ${CMAKE_SOURCE_DIR}/proto/${f}
      DEPENDS ${CMAKE_SOURCE_DIR}/proto/${f}
      COMMENT "protoc-c ${f}")
    list(APPEND srcs ${c})
  endforeach()
  add_library(${name} STATIC ${srcs})
  target_link_libraries(${name} PUBLIC PkgConfig::PROTOBUFC)
  target_include_directories(${name} PUBLIC ${CMAKE_BINARY_DIR}/proto)
  # Generated code is not ours to lint.
  target_compile_options(${name} PRIVATE -Wno-error -Wno-shadow -Wno-strict-prototypes
                         -Wno-missing-prototypes -Wno-conversion -Wno-missing-braces)
  # Its asserts check API misuse and would link __assert_fail (stderr) into enclave
  # images in every build type; the trusted-boundary check refuses that.
  target_compile_definitions(${name} PRIVATE NDEBUG)
endfunction()
