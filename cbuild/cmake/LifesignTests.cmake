# Tests of the CMake build: included from ../CMakeLists.txt when
# LIFESIGN_BUILD_TESTS is ON.
#
#   - every tests/c/*.c of the repository, built three times: against the
#     shared library, against the static archive, and compiled as C++ (shared);
#   - the header's version macros and lifesign_version() against Cargo.toml;
#   - the header compiling under strict C99 and C++11;
#   - the ELF facts consumers rely on (SONAME, NEEDED entries, link chain);
#   - every function the header declares being exported by both libraries.

enable_language(CXX)
enable_testing()

option(LIFESIGN_TESTS_WERROR "Build the tests with -Wall -Wextra -Werror" ON)

set(_lifesign_warning_flags "")
if(CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
  set(_lifesign_warning_flags -Wall -Wextra)
  if(LIFESIGN_TESTS_WERROR)
    list(APPEND _lifesign_warning_flags -Werror)
  endif()
endif()

set(_lifesign_tests_dir "${CMAKE_CURRENT_SOURCE_DIR}/tests")
set(_lifesign_generated_dir "${CMAKE_CURRENT_BINARY_DIR}/generated-tests")

# Environment the C tests read.
set(_lifesign_test_env
  "LIFESIGN_VECTORS_DIR=${LIFESIGN_ROOT}/tests/vectors"
  "LIFESIGN_CLI=$<TARGET_FILE:lifesign::cli>"
  "LIFESIGN_LIB=$<TARGET_FILE:lifesign::lifesign>")

# _lifesign_test_program(<target> <source> <library target> [CXX])
# Builds <source> (a C file) against <library target>; with CXX the same C
# source is compiled as C++ through a generated one-line .cpp that includes it.
function(_lifesign_test_program target source library)
  set(_src "${source}")
  if(ARGN STREQUAL "CXX")
    set(_src "${_lifesign_generated_dir}/${target}.cpp")
    file(GENERATE OUTPUT "${_src}"
      CONTENT "/* ${source} compiled as C++ */\n#include \"${source}\"\n")
  endif()
  add_executable(${target} "${_src}")
  target_link_libraries(${target} PRIVATE ${library})
  # assert() stays active whatever the build type.
  target_compile_options(${target} PRIVATE ${_lifesign_warning_flags} -UNDEBUG)
  target_compile_definitions(${target} PRIVATE
    "LIFESIGN_EXPECTED_VERSION=\"${LIFESIGN_VERSION_STRING}\""
    "LIFESIGN_EXPECTED_MAJOR=${PROJECT_VERSION_MAJOR}"
    "LIFESIGN_EXPECTED_MINOR=${PROJECT_VERSION_MINOR}"
    "LIFESIGN_EXPECTED_PATCH=${PROJECT_VERSION_PATCH}")
endfunction()

# --- version agreement -------------------------------------------------------
set(_version_src "${_lifesign_tests_dir}/version_check.c")
_lifesign_test_program(lifesign_version_check_shared "${_version_src}" lifesign::lifesign)
_lifesign_test_program(lifesign_version_check_static "${_version_src}" lifesign::static)
_lifesign_test_program(lifesign_version_check_cxx "${_version_src}" lifesign::lifesign CXX)
add_test(NAME header_and_shared_library_versions_match_cargo_toml COMMAND lifesign_version_check_shared)
add_test(NAME header_and_static_library_versions_match_cargo_toml COMMAND lifesign_version_check_static)
add_test(NAME header_and_library_versions_match_cargo_toml_from_cxx COMMAND lifesign_version_check_cxx)

# --- the header alone, under strict language modes -------------------------------
if(CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
  add_library(lifesign_header_c99 OBJECT "${_lifesign_tests_dir}/header_only.c")
  set_target_properties(lifesign_header_c99 PROPERTIES C_STANDARD 99 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF)
  target_include_directories(lifesign_header_c99 PRIVATE "${LIFESIGN_ROOT}/include")
  target_compile_options(lifesign_header_c99 PRIVATE -Wall -Wextra -Werror -pedantic-errors)

  add_library(lifesign_header_cxx11 OBJECT "${_lifesign_tests_dir}/header_only.cpp")
  set_target_properties(lifesign_header_cxx11 PROPERTIES CXX_STANDARD 11 CXX_STANDARD_REQUIRED ON CXX_EXTENSIONS OFF)
  target_include_directories(lifesign_header_cxx11 PRIVATE "${LIFESIGN_ROOT}/include")
  target_compile_options(lifesign_header_cxx11 PRIVATE -Wall -Wextra -Werror -pedantic-errors)
endif()

# --- the repository's C tests ------------------------------------------------------
file(GLOB _lifesign_c_tests CONFIGURE_DEPENDS "${LIFESIGN_ROOT}/tests/c/*.c")
list(SORT _lifesign_c_tests)
if(NOT _lifesign_c_tests)
  message(STATUS "lifesign: no tests/c/*.c yet; only the build tests are registered")
endif()
foreach(_test_src IN LISTS _lifesign_c_tests)
  get_filename_component(_name "${_test_src}" NAME_WE)
  _lifesign_test_program(${_name}_shared "${_test_src}" lifesign::lifesign)
  _lifesign_test_program(${_name}_static "${_test_src}" lifesign::static)
  _lifesign_test_program(${_name}_cxx "${_test_src}" lifesign::lifesign CXX)
  add_test(NAME ${_name}_against_shared_library COMMAND ${_name}_shared)
  add_test(NAME ${_name}_against_static_library COMMAND ${_name}_static)
  add_test(NAME ${_name}_compiled_as_cxx COMMAND ${_name}_cxx)
  set_tests_properties(
    ${_name}_against_shared_library ${_name}_against_static_library ${_name}_compiled_as_cxx
    PROPERTIES ENVIRONMENT "${_lifesign_test_env}" TIMEOUT 600)
endforeach()

# --- ELF facts ------------------------------------------------------------------------
if(CMAKE_READELF)
  set(_readelf "${CMAKE_READELF}")
else()
  find_program(LIFESIGN_READELF NAMES readelf)
  set(_readelf "${LIFESIGN_READELF}")
endif()
if(CMAKE_NM)
  set(_nm "${CMAKE_NM}")
else()
  find_program(LIFESIGN_NM NAMES nm)
  set(_nm "${LIFESIGN_NM}")
endif()
set(_check_elf "${CMAKE_CURRENT_SOURCE_DIR}/cmake/CheckElf.cmake")

if(_readelf)
  add_test(NAME shared_library_soname_is_${LIFESIGN_SONAME}
    COMMAND "${CMAKE_COMMAND}" -DREADELF=${_readelf} -DMODE=soname
            -DFILE=$<TARGET_FILE:lifesign::lifesign> -DNAME=${LIFESIGN_SONAME} -P "${_check_elf}")
  add_test(NAME shared_library_links_chain_to_the_versioned_file
    COMMAND "${CMAKE_COMMAND}" -DMODE=links -DDIR=$<TARGET_FILE_DIR:lifesign::lifesign>
            -DNAME=${LIFESIGN_SONAME} -DREAL=$<TARGET_FILE_NAME:lifesign::lifesign> -P "${_check_elf}")
  add_test(NAME shared_consumer_records_the_soname_not_a_path
    COMMAND "${CMAKE_COMMAND}" -DREADELF=${_readelf} -DMODE=needed
            -DFILE=$<TARGET_FILE:lifesign_version_check_shared> -DNAME=${LIFESIGN_SONAME} -P "${_check_elf}")
  add_test(NAME static_consumer_does_not_need_liblifesign_so
    COMMAND "${CMAKE_COMMAND}" -DREADELF=${_readelf} -DMODE=not-needed
            -DFILE=$<TARGET_FILE:lifesign_version_check_static> -DNAME=liblifesign -P "${_check_elf}")
else()
  message(WARNING "lifesign: readelf not found; the ELF tests are not registered")
endif()

if(_nm)
  add_test(NAME shared_library_exports_every_function_of_the_header
    COMMAND "${CMAKE_COMMAND}" -DNM=${_nm} -DMODE=exports -DDYNAMIC=ON
            -DHEADER=${LIFESIGN_ROOT}/include/lifesign.h -DFILE=$<TARGET_FILE:lifesign::lifesign>
            -P "${_check_elf}")
  add_test(NAME static_library_defines_every_function_of_the_header
    COMMAND "${CMAKE_COMMAND}" -DNM=${_nm} -DMODE=exports -DDYNAMIC=OFF
            -DHEADER=${LIFESIGN_ROOT}/include/lifesign.h -DFILE=$<TARGET_FILE:lifesign::static>
            -P "${_check_elf}")
else()
  message(WARNING "lifesign: nm not found; the export tests are not registered")
endif()
