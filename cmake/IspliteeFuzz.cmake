# isplitee_add_fuzz_target(<name> LIBS <libraries…> [SOURCES <extra sources…>])
#
# One harness, tests/fuzz/<name>.cpp, defining LLVMFuzzerTestOneInput, gives:
#   fuzz_replay_<name>  the harness + tests/fuzz/replay_main.cpp, built by every build with tests
#                       (normal, ASan, TSan), and the ctest test fuzz.<name> (label "fuzz") that
#                       runs every file of tests/fuzz/corpus/<name> and tests/fuzz/regressions/<name>
#                       through it: seconds, and no clang needed;
#   fuzz_<name>         the libFuzzer binary, only when ISPLITEE_FUZZ is on (scripts/fuzz.sh).
# Seeds live in tests/fuzz/corpus/<name>/, inputs that once failed in tests/fuzz/regressions/<name>/,
# an optional dictionary in tests/fuzz/dict/<name>.dict.
function(isplitee_add_fuzz_target name)
  cmake_parse_arguments(F "" "" "LIBS;SOURCES" ${ARGN})
  set(dir ${PROJECT_SOURCE_DIR}/tests/fuzz)
  set(harness ${dir}/${name}.cpp ${F_SOURCES})

  add_executable(fuzz_replay_${name} ${harness} ${dir}/replay_main.cpp)
  target_link_libraries(fuzz_replay_${name} PRIVATE ${F_LIBS})
  target_include_directories(fuzz_replay_${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests)
  isplitee_set_warnings(fuzz_replay_${name})
  add_test(NAME fuzz.${name}
           COMMAND fuzz_replay_${name} ${dir}/corpus/${name} ${dir}/regressions/${name})
  set_tests_properties(fuzz.${name} PROPERTIES LABELS "fuzz" TIMEOUT 600)

  if(ISPLITEE_FUZZ_ENABLED)
    add_executable(fuzz_${name} ${harness})
    target_link_libraries(fuzz_${name} PRIVATE ${F_LIBS})
    target_include_directories(fuzz_${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests)
    target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
    isplitee_set_warnings(fuzz_${name})
  endif()
endfunction()
