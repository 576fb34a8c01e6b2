# Pipelines: the unit tests in tests/service call the build's real plugins,
# found through this definition; the built-ins run end to end on the default
# model (docs/pipelines.md).
if(TARGET test_service)
  target_compile_definitions(test_service PRIVATE HEARTH_TEST_PLUGIN_DIR="${CMAKE_BINARY_DIR}/plugins")
  add_dependencies(test_service word_count)
  if(TARGET ocr_tesseract)
    add_dependencies(test_service ocr_tesseract)
  endif()
endif()
