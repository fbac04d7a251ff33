# tests/checkpoint.cmake — checkpoints (src/checkpoint*.c, src/signals.c), resume, preemption,
# and the commands that use a checkpoint (src/app_model.c, src/npy.c). Small shapes: the
# whole area runs in well under two minutes on 2 cores.
set(CKPT_TEST_DIR ${CMAKE_CURRENT_SOURCE_DIR}/checkpoint)

bivae_add_unit_test(ckpt_roundtrip ${CKPT_TEST_DIR}/test_roundtrip.c LABELS checkpoint)
bivae_add_unit_test(ckpt_runs ${CKPT_TEST_DIR}/test_runs.c LABELS checkpoint)
bivae_add_mpi_test(ckpt_roundtrip_np3 3 $<TARGET_FILE:ckpt_roundtrip>)

# ckpt_tool: test helper (re-version a file, a user's training items, header fields)
add_executable(ckpt_tool ${CKPT_TEST_DIR}/ckpt_tool.c)
target_link_libraries(ckpt_tool PRIVATE bivae_core)

foreach(t resume bad_input crash signal model_commands rundir metrics same_door cap)
  bivae_add_script_test(ckpt_${t} checkpoint/${t}.sh $<TARGET_FILE:ckpt_tool>)
  set_tests_properties(ckpt_${t} PROPERTIES TIMEOUT 300 LABELS "script;checkpoint")
endforeach()
set_tests_properties(ckpt_roundtrip ckpt_roundtrip_np3 PROPERTIES TIMEOUT 300)
