# SPDX-License-Identifier: Apache-2.0
# Included by CMakeLists.txt (kept apart so that this folder's main list stays a one-line edit).
# default_mode_ca_index_test: FileDefaultModeCaIndex on real directories (table + race).
if(TARGET sim::broker_account_adapters)
  add_executable(default_mode_ca_index_test default_mode_ca_index_test.cpp)
  target_link_libraries(default_mode_ca_index_test PRIVATE sim::broker_account_adapters
                        sim::test_support sim::core_adapters sim::warnings GTest::gtest_main
                        Threads::Threads)
  gtest_discover_tests(default_mode_ca_index_test PROPERTIES LABELS integration TIMEOUT 30
                       DISCOVERY_TIMEOUT 30)
endif()
# registry_events_test: THING registry events through an account broker, the AWS CLI as client.
if(TARGET sim::control_plane AND TARGET sim::aws_client)
  add_executable(registry_events_test registry_events_test.cpp)
  target_link_libraries(registry_events_test PRIVATE sim::test_support sim::aws_client
                        sim::core_adapters sim::warnings PahoMqttCpp::paho-mqttpp3
                        nlohmann_json::nlohmann_json GTest::gtest_main)
  target_compile_definitions(registry_events_test PRIVATE
    ELSIM_BROKER_PLUGIN="$<TARGET_FILE:elsim_broker>")
  add_dependencies(registry_events_test elsim_broker)
  gtest_discover_tests(registry_events_test PROPERTIES LABELS integration TIMEOUT 90
                       DISCOVERY_TIMEOUT 30)
endif()
