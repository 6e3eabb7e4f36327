# The Windows installer: one MSI (CPack WiX, WiX Toolset v3) with warden.exe, warden-console.exe,
# the Qt runtime beside them, a default config, and the "warden" service registered with the
# service control manager (ServiceInstall/ServiceControl through service.wxs). Not built or run
# in this project's CI, which has no Windows; see README "Packages".

# The Qt runtime (DLLs and plugins) next to the executables, by Qt's own deploy script.
foreach(target warden warden-console)
    if(TARGET ${target})
        qt_generate_deploy_app_script(TARGET ${target} FILENAME_VARIABLE deploy_script
                                      NO_UNSUPPORTED_PLATFORM_ERROR)
        install(SCRIPT ${deploy_script})
    endif()
endforeach()

install(FILES windows/warden.toml DESTINATION etc)

set(CPACK_GENERATOR WIX)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Background-worker manager: the warden service and its console")
set(CPACK_MONOLITHIC_INSTALL ON) # one feature; the component ids in service.wxs rely on it
# Fixed forever: later versions upgrade this installation instead of installing beside it.
set(CPACK_WIX_UPGRADE_GUID "09DC0971-79BD-4FDC-AAB8-F02D6A29F8DE")
set(CPACK_PACKAGE_INSTALL_DIRECTORY Warden)
set(CPACK_WIX_PROGRAM_MENU_FOLDER Warden)
set(CPACK_PACKAGE_EXECUTABLES warden-console "Warden Console")
set(CPACK_WIX_PATCH_FILE ${CMAKE_CURRENT_SOURCE_DIR}/windows/service.wxs)
set(CPACK_WIX_EXTENSIONS WixUtilExtension)
set(CPACK_WIX_CUSTOM_XMLNS "util=http://schemas.microsoft.com/wix/UtilExtension")
