# Command-line behaviour on bad input: exit status 1 or 2 and one line naming the problem.
add_test(NAME cli_bad_input COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/bad_input.sh $<TARGET_FILE:hearth_cli>)
set_tests_properties(cli_bad_input PROPERTIES TIMEOUT 300)
add_test(NAME cli_run_output COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/run_output.sh $<TARGET_FILE:hearth_cli>)
set_tests_properties(cli_run_output PROPERTIES TIMEOUT 300)
add_test(NAME cli_tools_output COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/tools_output.sh $<TARGET_FILE:hearth_cli>)
set_tests_properties(cli_tools_output PROPERTIES TIMEOUT 300)
