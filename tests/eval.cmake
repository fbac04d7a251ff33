# tests/eval.cmake — ranking metrics (src/eval.c) and the CPU top-K kernel.
set(EVAL_TEST_DIR ${CMAKE_CURRENT_SOURCE_DIR}/eval)

bivae_add_unit_test(eval_metrics ${EVAL_TEST_DIR}/test_eval_metrics.c LABELS eval)
bivae_add_unit_test(eval_topk ${EVAL_TEST_DIR}/test_eval_topk.c LIBS bivae_kernels LABELS eval)
bivae_add_unit_test(eval_ranking ${EVAL_TEST_DIR}/test_eval_ranking.c LABELS eval)
bivae_add_unit_test(eval_most_popular ${EVAL_TEST_DIR}/test_eval_popular.c LABELS eval)

# The same programs on 3 ranks: cyclic shares of users and items, one global answer.
bivae_add_mpi_test(eval_ranking_np3 3 $<TARGET_FILE:eval_ranking>)
bivae_add_mpi_test(eval_most_popular_np3 3 $<TARGET_FILE:eval_most_popular>)
set_tests_properties(eval_ranking_np3 eval_most_popular_np3 PROPERTIES TIMEOUT 120)
