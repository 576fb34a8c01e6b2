# Bounded libFuzzer run of the GGUF reader (built with clang by the script itself,
# independent of this CMake build's compiler).
add_test(NAME fuzz_gguf COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/run_fuzz.sh ${CMAKE_BINARY_DIR}/fuzz 60)
# Compiling with sanitizers takes a minute or two on two cores, then 60 s of fuzzing.
set_tests_properties(fuzz_gguf PROPERTIES TIMEOUT 600 LABELS fuzz)
