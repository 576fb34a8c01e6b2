# Parity with llama.cpp (the peer, from PyPI llama-cpp-python in Hearth's Python
# environment, installed by scripts/setup.sh --test). A missing peer fails these
# tests; it never skips them.
if(DEFINED ENV{HEARTH_HOME})
  set(hearth_home $ENV{HEARTH_HOME})
else()
  set(hearth_home $ENV{HOME}/.cache/hearth)
endif()
set(HEARTH_PYTHON ${hearth_home}/venv/bin/python CACHE FILEPATH "Python with llama-cpp-python for the parity tests")
set(parity_script ${CMAKE_CURRENT_LIST_DIR}/llama_parity.py)
set(smollm ${hearth_home}/models/SmolLM2-135M-Instruct.Q4_1.gguf)
set(gemma ${hearth_home}/models/gemma-3-270m-q4_k_m.gguf)

foreach(check tokenize greedy logits)
  add_test(NAME parity_smollm2_${check}
           COMMAND ${HEARTH_PYTHON} ${parity_script} ${check} --hearth $<TARGET_FILE:hearth_cli> --model ${smollm})
  set_tests_properties(parity_smollm2_${check} PROPERTIES TIMEOUT 900 RUN_SERIAL TRUE)
endforeach()
foreach(check tokenize greedy)
  add_test(NAME parity_gemma3_${check}
           COMMAND ${HEARTH_PYTHON} ${parity_script} ${check} --hearth $<TARGET_FILE:hearth_cli> --model ${gemma})
  set_tests_properties(parity_gemma3_${check} PROPERTIES TIMEOUT 900 RUN_SERIAL TRUE)
endforeach()
