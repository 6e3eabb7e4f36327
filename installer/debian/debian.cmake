# The Debian packages: warden (the service, its libraries, unit, default config and man page),
# warden-console (the admin console, its desktop entry and icon) and warden-dev (headers and
# the CMake package). `./dev package` builds them from a clean tree and runs lintian.

# Where the system files go: the Debian places for a /usr build, under the prefix otherwise
# (so that `cmake --install build --prefix ~/opt/warden` never writes outside the prefix).
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
    set(WARDEN_UNIT_DIR /lib/systemd/system)
    set(WARDEN_CONFIG_DIR /etc/warden)
else()
    set(WARDEN_UNIT_DIR ${CMAKE_INSTALL_LIBDIR}/systemd/system)
    set(WARDEN_CONFIG_DIR ${CMAKE_INSTALL_SYSCONFDIR}/warden)
endif()
install(FILES debian/warden.service DESTINATION ${WARDEN_UNIT_DIR} COMPONENT service)
# Root and the warden group read the config, nobody else: postinst registers a statoverride
# (root:warden 0640) before the service first starts, and dpkg applies it on every upgrade.
install(FILES debian/warden.toml DESTINATION ${WARDEN_CONFIG_DIR} COMPONENT service)

# copyright and changelog.gz in each package's documentation folder, as policy asks.
set(WARDEN_DEB_VERSION ${PROJECT_VERSION})
configure_file(debian/changelog.in ${CMAKE_CURRENT_BINARY_DIR}/changelog @ONLY)
add_custom_command(OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/changelog.gz
    COMMAND gzip -9n -c ${CMAKE_CURRENT_BINARY_DIR}/changelog > ${CMAKE_CURRENT_BINARY_DIR}/changelog.gz
    DEPENDS ${CMAKE_CURRENT_BINARY_DIR}/changelog
    VERBATIM)
add_custom_target(debian-changelog ALL DEPENDS ${CMAKE_CURRENT_BINARY_DIR}/changelog.gz)
foreach(pair service:warden console:warden-console dev:warden-dev)
    string(REPLACE ":" ";" pair ${pair})
    list(GET pair 0 component)
    list(GET pair 1 package)
    install(FILES debian/copyright ${CMAKE_CURRENT_BINARY_DIR}/changelog.gz
            DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/${package} COMPONENT ${component})
endforeach()

set(CPACK_GENERATOR DEB)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_SET_DESTDIR ON) # the unit and /etc are absolute destinations
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_VERSION ${WARDEN_DEB_VERSION})
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)
# Dependencies on shared libraries come from the binaries (dpkg-shlibdeps); our own libraries
# are found in the build tree and depended on through the component dependencies.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS ${PROJECT_BINARY_DIR}/core ${PROJECT_BINARY_DIR}/sql)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")

# CPack prepends CPACK_PACKAGE_DESCRIPTION_SUMMARY to each package's description unless it is
# CPack's default; here each package has a synopsis of its own (its description's first line).
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_NAME} built using CMake")

set(CPACK_DEBIAN_SERVICE_PACKAGE_NAME warden)
set(CPACK_DEBIAN_SERVICE_PACKAGE_SECTION admin)
# The SQLite driver is a Qt plugin (dlopen'ed), so dpkg-shlibdeps cannot see it.
set(CPACK_DEBIAN_SERVICE_PACKAGE_DEPENDS
    "adduser, init-system-helpers (>= 1.54~), libqt6sql6-sqlite")
set(CPACK_DEBIAN_SERVICE_PACKAGE_RECOMMENDS "libqt6sql6-psql")
set(CPACK_DEBIAN_SERVICE_PACKAGE_CONTROL_EXTRA
    ${CMAKE_CURRENT_SOURCE_DIR}/debian/warden/postinst
    ${CMAKE_CURRENT_SOURCE_DIR}/debian/warden/prerm
    ${CMAKE_CURRENT_SOURCE_DIR}/debian/warden/postrm
    ${CMAKE_CURRENT_SOURCE_DIR}/debian/warden/conffiles
    ${CMAKE_CURRENT_SOURCE_DIR}/debian/warden/triggers)
set(CPACK_COMPONENT_SERVICE_DESCRIPTION
    "background-worker manager for Qt services
Warden runs background workers - periodic (a fixed interval, or cron in a time
zone) and continuous (long-running loops) - and, when a service runs on several
machines, makes sure through leases in a SQL database that only one node runs a
locked worker at a time, with fencing tokens and failover when a node dies.

This package contains the warden service: it runs command, SQL and plugin
workers from /etc/warden/warden.toml under systemd, on an embedded SQLite
database by default or a PostgreSQL cluster database, and answers the admin
commands (status, workers, locks, runs, log, enable, disable, trigger,
release). It also contains the shared libraries Warden::Core and Warden::Sql.")

set(CPACK_DEBIAN_CONSOLE_PACKAGE_NAME warden-console)
set(CPACK_DEBIAN_CONSOLE_PACKAGE_SECTION admin)
# Platform and SVG icon plugins are loaded at run time, out of dpkg-shlibdeps' sight.
set(CPACK_DEBIAN_CONSOLE_PACKAGE_DEPENDS "qt6-qpa-plugins, libqt6svg6")
set(CPACK_COMPONENT_CONSOLE_DESCRIPTION
    "admin console for Warden background workers
Warden runs background workers - periodic and continuous - on one machine or,
with leases in a SQL database, on a cluster of them.

This package contains warden-console, a desktop application that shows a
Warden cluster live - workers, lock holders, nodes, log lines and run history -
and lets an admin enable, disable, pause and run workers and release a stuck
lock.")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME warden-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "qt6-base-dev (>= 6.4)")
set(CPACK_COMPONENT_DEV_DESCRIPTION
    "development files for the Warden libraries
Warden runs background workers - periodic and continuous - in Qt applications
and services, with leases in a SQL database so that only one node of a cluster
runs a locked worker at a time.

This package contains the headers and the CMake package of Warden::Core and
Warden::Sql: find_package(Warden) in a CMake project.")
