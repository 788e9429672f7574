# Installs the built project into a staging prefix, then configures, builds and runs
# examples/consumer against it with find_package(isplitee). For a build without vision it also
# checks that asking for the vision component fails with a message that says why.
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BINARY_DIR} --prefix ${prefix}
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --install failed (${rc})")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples/consumer -B ${WORK_DIR}/build
                        -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=Release
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "configuring the consumer failed (${rc})")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}/build -j2 RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "building the consumer failed (${rc})")
endif()
execute_process(COMMAND ${WORK_DIR}/build/consumer RESULT_VARIABLE rc OUTPUT_VARIABLE out)
message(STATUS "consumer output: ${out}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the consumer failed (${rc})")
endif()
if(NOT out MATCHES "consumer ok")
  message(FATAL_ERROR "the consumer did not print 'consumer ok'")
endif()
if(HAS_VISION AND NOT out MATCHES "core \\+ vision")
  message(FATAL_ERROR "the consumer did not find isplitee::vision in a build with vision")
endif()

if(NOT HAS_VISION)
  if(EXISTS ${prefix}/include/isplitee/model/multi_exit_net.hpp)
    message(FATAL_ERROR "a light install must not ship vision headers")
  endif()
  execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples/consumer
                          -B ${WORK_DIR}/build-vision -DCMAKE_PREFIX_PATH=${prefix}
                          -DCONSUMER_REQUIRE_VISION=ON
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(rc EQUAL 0)
    message(FATAL_ERROR "find_package(isplitee COMPONENTS vision) succeeded on a light install")
  endif()
  if(NOT "${out}${err}" MATCHES "built without vision \\(LibTorch/OpenCV\\)")
    message(FATAL_ERROR "no clear message when vision is missing:\n${out}${err}")
  endif()
  message(STATUS "COMPONENTS vision on a light install is refused with a clear message")
endif()
