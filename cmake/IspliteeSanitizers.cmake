# Sanitizer and fuzzer builds: scripts/sanitize.sh and scripts/fuzz.sh configure these options in
# their own build directories (build-asan, build-tsan, build-fuzz); a normal build sets neither.
#
#   ISPLITEE_SANITIZE=address  AddressSanitizer + UndefinedBehaviorSanitizer (every check fatal,
#                              libstdc++ bounds assertions on) for everything built here
#   ISPLITEE_SANITIZE=thread   ThreadSanitizer
#   ISPLITEE_FUZZ=ON           libFuzzer targets (tests/fuzz); needs clang with libFuzzer. The whole
#                              build then carries -fsanitize=fuzzer-no-link,address,undefined.
#
# LibTorch, OpenCV and the other system libraries are not instrumented: reports inside them that
# are not our bug go to the narrow suppression files in tests/sanitizers/.
# The flags are directory-wide on purpose: every object linked into one program must agree.

set(ISPLITEE_SANITIZE "" CACHE STRING "Sanitizer build: address (ASan + UBSan), thread (TSan) or empty")
set_property(CACHE ISPLITEE_SANITIZE PROPERTY STRINGS "" address thread)
option(ISPLITEE_FUZZ "Build the libFuzzer targets in tests/fuzz (clang with libFuzzer only)" OFF)

set(ISPLITEE_SANITIZER_FLAGS "")  # compile and link flags; also handed to library consumers
set(ISPLITEE_FUZZ_ENABLED OFF)

if(ISPLITEE_FUZZ)
  include(CheckCXXSourceCompiles)
  set(CMAKE_REQUIRED_FLAGS "-fsanitize=fuzzer,address,undefined")
  check_cxx_source_compiles(
    "#include <cstddef>
     #include <cstdint>
     extern \"C\" int LLVMFuzzerTestOneInput(const std::uint8_t*, std::size_t) { return 0; }"
    ISPLITEE_HAVE_LIBFUZZER)
  unset(CMAKE_REQUIRED_FLAGS)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang" OR NOT ISPLITEE_HAVE_LIBFUZZER)
    message(WARNING "ISPLITEE_FUZZ needs clang with libFuzzer (Debian: clang-14, libclang-rt-14-dev;"
                    " configure with CXX=clang++-14); the fuzz targets are not built")
  else()
    set(ISPLITEE_FUZZ_ENABLED ON)
    if(ISPLITEE_SANITIZE AND NOT ISPLITEE_SANITIZE STREQUAL "address")
      message(FATAL_ERROR "ISPLITEE_FUZZ builds with ASan + UBSan; ISPLITEE_SANITIZE=${ISPLITEE_SANITIZE} "
                          "cannot be combined with it")
    endif()
    # Instrument everything for coverage; only the fuzz executables link libFuzzer's main.
    add_compile_options(-fsanitize=fuzzer-no-link)
    set(ISPLITEE_SANITIZER_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=all)
  endif()
elseif(ISPLITEE_SANITIZE STREQUAL "address")
  set(ISPLITEE_SANITIZER_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=all)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # clang's "undefined" includes it; GCC's does not.
    list(APPEND ISPLITEE_SANITIZER_FLAGS -fsanitize=float-cast-overflow)
  endif()
  # Bounds-checked operator[] and friends in libstdc++ (no ABI change, so it mixes with LibTorch).
  add_compile_definitions(_GLIBCXX_ASSERTIONS)
elseif(ISPLITEE_SANITIZE STREQUAL "thread")
  set(ISPLITEE_SANITIZER_FLAGS -fsanitize=thread)
elseif(ISPLITEE_SANITIZE)
  message(FATAL_ERROR "ISPLITEE_SANITIZE must be address, thread or empty; got '${ISPLITEE_SANITIZE}'")
endif()

if(ISPLITEE_SANITIZER_FLAGS)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    message(FATAL_ERROR "sanitizer builds need GCC or clang")
  endif()
  # Line tables only: symbolised reports without the size of full debug info next to LibTorch.
  add_compile_options(${ISPLITEE_SANITIZER_FLAGS} -fno-omit-frame-pointer -g1)
  add_link_options(${ISPLITEE_SANITIZER_FLAGS})
  message(STATUS "isplitee: sanitizer flags ${ISPLITEE_SANITIZER_FLAGS}")
  # An instrumented static library needs the sanitizer runtime in whatever links it, including
  # an installed package's consumers: say so in the exported targets.
  if(CMAKE_VERSION VERSION_GREATER_EQUAL 3.19)
    cmake_language(DEFER DIRECTORY ${PROJECT_SOURCE_DIR} CALL
                   set_property TARGET isplitee_core APPEND PROPERTY INTERFACE_LINK_OPTIONS
                   ${ISPLITEE_SANITIZER_FLAGS})
  endif()
endif()

include(IspliteeFuzz)
