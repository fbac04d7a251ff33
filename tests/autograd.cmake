# Cross-check of src/model.c's forward/backward against torch autograd (float64), from the
# math of docs/bivae-model.md. Optional: skipped (exit 77) when python3 has no torch.
add_executable(autograd_dump_grad autograd/dump_grad.c)
target_link_libraries(autograd_dump_grad PRIVATE bivae_core)
target_include_directories(autograd_dump_grad PRIVATE ${CMAKE_SOURCE_DIR}
                           ${CMAKE_CURRENT_SOURCE_DIR}/kernels)
bivae_add_script_test(autograd_torch autograd/autograd_torch.sh $<TARGET_FILE:autograd_dump_grad>)
