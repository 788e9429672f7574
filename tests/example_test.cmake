# Installs the built project into a staging prefix, then configures, builds and runs the example
# project examples/${EXAMPLE} against it with find_package(isplitee); its output must match
# ${EXPECT} (a regular expression).
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BINARY_DIR} --prefix ${prefix}
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --install failed (${rc})")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples/${EXAMPLE} -B ${WORK_DIR}/build
                        -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=Release
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "configuring examples/${EXAMPLE} failed (${rc})")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}/build -j2 RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "building examples/${EXAMPLE} failed (${rc})")
endif()
execute_process(COMMAND ${WORK_DIR}/build/${EXAMPLE} RESULT_VARIABLE rc OUTPUT_VARIABLE out)
message(STATUS "${EXAMPLE} output: ${out}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "examples/${EXAMPLE} failed (${rc})")
endif()
if(NOT out MATCHES "${EXPECT}")
  message(FATAL_ERROR "examples/${EXAMPLE} did not print '${EXPECT}'")
endif()
