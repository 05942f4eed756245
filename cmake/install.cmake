# Installing achan as a library: the public headers (include/achan/, nothing else), the
# libraries (static by default; shared with -DBUILD_SHARED_LIBS=ON), the achan command,
# achanConfig.cmake + version file with imported targets (achan::achan, achan::core,
# achan::transport, achan::h2, achan::dns, achan::actors, achan::fault_proxy, achan::proxy), the CAF
# module it needs,
# protoc-gen-achan with achan_generate() (cmake/AchanGenerate.cmake),
# and achan.pc for pkg-config, all under PREFIX/lib (not the multiarch dir, so the
# relocatable .pc and the config find them). tests/package builds an external project
# against it.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# The umbrella target users link.
add_library(achan_lib INTERFACE)
target_link_libraries(achan_lib INTERFACE achan_actors)
set_target_properties(achan_lib PROPERTIES EXPORT_NAME achan)
foreach(t core transport h2 dns actors fault_proxy proxy)
  set_target_properties(achan_${t} PROPERTIES EXPORT_NAME ${t})
endforeach()

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/achan DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS achan_lib achan_actors achan_core achan_h2 achan_dns achan_transport achan_fault_proxy achan_proxy
        EXPORT achanTargets
        ARCHIVE DESTINATION lib
        LIBRARY DESTINATION lib
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
set(ACHAN_CMAKE_DIR lib/cmake/achan)
install(EXPORT achanTargets NAMESPACE achan:: DESTINATION ${ACHAN_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/achanConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/achanConfig.cmake
                              INSTALL_DESTINATION ${ACHAN_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/achanConfigVersion.cmake
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/achanConfig.cmake ${PROJECT_BINARY_DIR}/achanConfigVersion.cmake
              ${PROJECT_SOURCE_DIR}/cmake/FindCAF.cmake ${PROJECT_SOURCE_DIR}/cmake/AchanGenerate.cmake
        DESTINATION ${ACHAN_CMAKE_DIR})
configure_file(${PROJECT_SOURCE_DIR}/cmake/achan.pc.in ${PROJECT_BINARY_DIR}/achan.pc @ONLY)
# (Relocatable: the .pc finds the prefix from its own place, lib/pkgconfig.)
install(FILES ${PROJECT_BINARY_DIR}/achan.pc DESTINATION lib/pkgconfig)
