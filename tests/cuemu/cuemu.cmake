# tests/cuemu/cuemu.cmake — cuemu_translate(IN.cu OUT_VAR): a build-time rewrite of IN.cu's
# kernel launches into host C++ (translate.py); OUT_VAR gets the generated .cpp's path.
function(cuemu_translate cu out_var)
  get_filename_component(name ${cu} NAME_WE)
  set(out ${CMAKE_BINARY_DIR}/cuemu_gen/${name}.cpp)
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/cuemu_gen
    COMMAND Python3::Interpreter ${CMAKE_SOURCE_DIR}/tests/cuemu/translate.py ${cu} ${out}
    DEPENDS ${cu} ${CMAKE_SOURCE_DIR}/tests/cuemu/translate.py
    COMMENT "cuemu: translating ${name}.cu")
  set(${out_var} ${out} PARENT_SCOPE)
endfunction()
