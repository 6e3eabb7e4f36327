# Fails unless README.md contains SOURCE's code (from its first #include on) verbatim.
file(READ "${README}" readme)
file(READ "${SOURCE}" source)
string(FIND "${source}" "#include" start)
string(SUBSTRING "${source}" ${start} -1 code)
string(FIND "${readme}" "${code}" found)
if(found EQUAL -1)
    message(FATAL_ERROR "README.md does not show ${SOURCE} as it is; copy the code from its "
                        "first #include to its end into the README's example block.")
endif()
