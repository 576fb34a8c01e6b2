# Speech recognition: the asr_whisper plugin's WAV reader and resampler (unit
# tests), and `hearth transcribe` end to end (WER on espeak-ng speech, output
# formats, bad input). Every test name contains "asr".
add_executable(test_asr_audio ${CMAKE_CURRENT_LIST_DIR}/test_wav_reader.cpp ${CMAKE_CURRENT_LIST_DIR}/test_resampler.cpp)
target_include_directories(test_asr_audio PRIVATE ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(test_asr_audio PRIVATE asr_audio GTest::gtest GTest::gtest_main)
gtest_discover_tests(test_asr_audio TEST_PREFIX "asr." DISCOVERY_TIMEOUT 60)

# Hearth's Python environment (scripts/setup.sh --asr or --test): numpy for the
# test's audio conversions; the plugin finds faster-whisper there too. A missing
# environment or model fails these tests; it never skips them.
if(DEFINED ENV{HEARTH_HOME})
  set(asr_home $ENV{HEARTH_HOME})
else()
  set(asr_home $ENV{HOME}/.cache/hearth)
endif()
set(HEARTH_PYTHON ${asr_home}/venv/bin/python CACHE FILEPATH "Hearth's Python environment (tests)")
set(asr_python ${HEARTH_PYTHON})
add_test(NAME asr_transcribe_wer
         COMMAND ${asr_python} ${CMAKE_CURRENT_LIST_DIR}/transcribe_wer.py $<TARGET_FILE:hearth_cli>)
set_tests_properties(asr_transcribe_wer PROPERTIES TIMEOUT 400)
add_test(NAME asr_transcribe_bad_input
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/transcribe_bad_input.sh $<TARGET_FILE:hearth_cli> ${asr_python})
set_tests_properties(asr_transcribe_bad_input PROPERTIES TIMEOUT 300)
