# hearth serve end to end, driven from Python (the venv of scripts/setup.sh
# --test, with the official OpenAI client): the client suite, bad input and
# fuzzing, and the server's life cycle (jobs across kill -9, SIGTERM,
# disconnects, API keys, the scheduler), and the plugin endpoints (OCR,
# transcriptions, pipelines, plugin tools in chat).
if(DEFINED ENV{HEARTH_HOME})
  set(serve_home $ENV{HEARTH_HOME})
else()
  set(serve_home $ENV{HOME}/.cache/hearth)
endif()
set(serve_python ${serve_home}/venv/bin/python)
foreach(suite openai_client bad_input lifecycle plugins)
  add_test(NAME service_${suite}
           COMMAND ${serve_python} ${CMAKE_CURRENT_LIST_DIR}/serve_${suite}.py $<TARGET_FILE:hearth_cli>)
  set_tests_properties(service_${suite} PROPERTIES TIMEOUT 900 RUN_SERIAL TRUE)
endforeach()
