# SPDX-License-Identifier: Apache-2.0
# sim::warnings carries the project's warning set; CI turns warnings into errors through
# CMAKE_COMPILE_WARNING_AS_ERROR (set by the `ci` preset), not here.
add_library(sim_warnings INTERFACE)
add_library(sim::warnings ALIAS sim_warnings)
target_compile_options(sim_warnings INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow -Wconversion>)
