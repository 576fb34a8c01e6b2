# The bundled OCR plugin end to end (built only where Tesseract is found):
# bad input gives one clear error each, and the accuracy on rendered images.
if(TARGET ocr_tesseract)
  add_test(NAME plugins_ocr_bad_input COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/ocr_bad_input.sh $<TARGET_FILE:hearth_cli>)
  set_tests_properties(plugins_ocr_bad_input PROPERTIES TIMEOUT 300)
  add_test(NAME plugins_ocr_accuracy COMMAND python3 ${CMAKE_CURRENT_LIST_DIR}/ocr_accuracy.py $<TARGET_FILE:hearth_cli>)
  set_tests_properties(plugins_ocr_accuracy PROPERTIES TIMEOUT 600)
endif()
