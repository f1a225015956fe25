# SPDX-License-Identifier: Apache-2.0
# sim::module::PahoWaker (a work-around for Paho C's 1 s receive poll) against a real mosquitto.
if(TARGET sim::test_support)
  add_executable(sim_module_paho_waker_test ${CMAKE_CURRENT_LIST_DIR}/paho_waker_test.cpp)
  target_link_libraries(sim_module_paho_waker_test PRIVATE
    sim::module_adapters sim::test_support sim::warnings GTest::gtest_main)
  gtest_discover_tests(sim_module_paho_waker_test
    PROPERTIES LABELS integration TIMEOUT 60)
endif()

# The process-wide Paho C work-arounds: TLS file memo and stdin guard (real OpenSSL, real files).
if(TARGET sim::test_support)
  add_executable(sim_module_paho_workarounds_test
    ${CMAKE_CURRENT_LIST_DIR}/paho_workarounds_test.cpp)
  target_link_libraries(sim_module_paho_workarounds_test PRIVATE
    sim::module_adapters sim::test_support OpenSSL::SSL sim::warnings GTest::gtest_main)
  gtest_discover_tests(sim_module_paho_workarounds_test
    PROPERTIES LABELS integration TIMEOUT 60)
endif()
