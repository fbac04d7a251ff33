# tests/cli.cmake — the command line (src/cli.c) and the run log (src/log.c).
#
# These tests link only src/cli.c + src/log.c (+ bivae_common), not the whole bivae_core:
# while app.c/train.c/model.c are being written bivae_core may not build. To test the
# objects inside bivae_core instead, set BIVAE_CLI_TEST_LIBS to bivae_core.
add_library(bivae_cli_log_test STATIC ${CMAKE_SOURCE_DIR}/src/cli.c ${CMAKE_SOURCE_DIR}/src/log.c)
target_include_directories(bivae_cli_log_test PUBLIC ${CMAKE_SOURCE_DIR})
target_link_libraries(bivae_cli_log_test PUBLIC bivae_common ${MATH_LIB})
target_compile_definitions(bivae_cli_log_test PUBLIC BIVAE_VERSION="${PROJECT_VERSION}")
set(BIVAE_CLI_TEST_LIBS bivae_cli_log_test)

bivae_add_unit_test(cli_parse cli/test_cli_parse.c LIBS ${BIVAE_CLI_TEST_LIBS} LABELS cli)
bivae_add_unit_test(cli_errors cli/test_cli_errors.c LIBS ${BIVAE_CLI_TEST_LIBS} LABELS cli)
bivae_add_unit_test(cli_help cli/test_cli_help.c LIBS ${BIVAE_CLI_TEST_LIBS} LABELS cli)
bivae_add_unit_test(log_output cli/test_log.c LIBS ${BIVAE_CLI_TEST_LIBS} LABELS log)
