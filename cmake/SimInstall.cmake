# SPDX-License-Identifier: Apache-2.0
# `cmake --install`: elsim in bin/, the broker plugin and the TLS tap beside each other in
# <libdir>/elsim/, the bundled scenarios and world files in <datadir>/elsim/scenarios/. The
# installed elsim finds the plugin and the default world relative to itself
# (sim/world/src/world.cpp: InstalledFile), so no build tree or current directory is needed.
# CPack makes a .deb of the same tree, its library dependencies computed by dpkg-shlibdeps.
include(GNUInstallDirs)
if(TARGET elsim)
  install(TARGETS elsim RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
if(TARGET elsim_broker)
  install(TARGETS elsim_broker elsim_tls_tap LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/elsim)
endif()
install(DIRECTORY ${PROJECT_SOURCE_DIR}/scenarios/
        DESTINATION ${CMAKE_INSTALL_DATADIR}/elsim/scenarios
        PATTERN "CMakeLists.txt" EXCLUDE)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/FIDELITY.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(CPACK_PACKAGE_NAME elsim)
set(CPACK_PACKAGE_VENDOR "elsim")
set(CPACK_PACKAGE_CONTACT "elsim maintainers <elsim@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Offline emulator of AWS IoT ExpressLink onboarding (staging and OEM accounts on mosquitto)")
set(CPACK_GENERATOR DEB)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # elsim_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_STRIP_FILES ON)
# mosquitto is run, not linked; the AWS CLI and pyserial are only test oracles.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "mosquitto")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "awscli, python3-serial, jq")
include(CPack)
