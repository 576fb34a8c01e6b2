# Speech recognition: the asr_whisper plugin's WAV reader and resampler (unit
# tests), and `hearth transcribe` end to end (WER on espeak-ng speech, output
# formats, bad input). Every test name contains "asr".
add_executable(test_asr_audio ${CMAKE_CURRENT_LIST_DIR}/test_wav_reader.cpp ${CMAKE_CURRENT_LIST_DIR}/test_resampler.cpp)
target_include_directories(test_asr_audio PRIVATE ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(test_asr_audio PRIVATE asr_audio GTest::gtest GTest::gtest_main)
gtest_discover_tests(test_asr_audio TEST_PREFIX "asr." DISCOVERY_TIMEOUT 60)
