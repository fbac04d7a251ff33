# tests/cuda/: the CUDA backend against the CPU backend (every op, a few training steps),
# device-side Philox, and the device-memory communicators against host MPI.
# Every program exits 77 when no CUDA device can be used (no GPU, no driver, or a build
# without CUDA): ctest reports such a test as skipped (SKIP_RETURN_CODE 77), never passed.
# Label `cuda`: `ctest -L cuda` runs exactly these.

# every op of kernels.h, CUDA vs CPU
bivae_add_unit_test(cuda_ops cuda/test_cuda_ops.c LIBS bivae_kernels LABELS cuda)
target_include_directories(cuda_ops PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/kernels)
set_tests_properties(cuda_ops PROPERTIES SKIP_RETURN_CODE 77)

# kern_cuda_launches: one count per stream operation the backend queues (bench_gpu)
bivae_add_unit_test(cuda_launches cuda/test_cuda_launches.c LIBS bivae_kernels LABELS cuda)
set_tests_properties(cuda_launches PROPERTIES SKIP_RETURN_CODE 77)

# three training steps per side through src/model.c, CUDA vs CPU
bivae_add_unit_test(cuda_model cuda/test_cuda_model.c LABELS cuda)
target_include_directories(cuda_model PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/kernels)
set_tests_properties(cuda_model PROPERTIES SKIP_RETURN_CODE 77)

# staged MPI and NCCL communicators on device buffers, under mpirun
add_executable(cuda_comm cuda/test_cuda_comm.c)
target_link_libraries(cuda_comm PRIVATE bivae_comm bivae_kernels)
target_include_directories(cuda_comm PRIVATE ${CMAKE_SOURCE_DIR}
                           ${CMAKE_CURRENT_SOURCE_DIR}/kernels)
foreach(np 1 2)
  bivae_add_mpi_test(cuda_comm_staged_np${np} ${np} $<TARGET_FILE:cuda_comm> staged)
  bivae_add_mpi_test(cuda_comm_nccl_np${np} ${np} $<TARGET_FILE:cuda_comm> nccl)
  set_tests_properties(cuda_comm_staged_np${np} cuda_comm_nccl_np${np} PROPERTIES
                       SKIP_RETURN_CODE 77 LABELS "mpi;cuda" TIMEOUT 300)
endforeach()
# NCCL with one visible GPU per rank (each rank's device 0 is a different GPU): 2 GPUs
bivae_add_mpi_test(cuda_comm_nccl_bound_np2 2 bash ${CMAKE_CURRENT_SOURCE_DIR}/cuda/bind_local_gpu.sh
                   $<TARGET_FILE:cuda_comm> nccl)
set_tests_properties(cuda_comm_nccl_bound_np2 PROPERTIES SKIP_RETURN_CODE 77
                     LABELS "mpi;cuda" TIMEOUT 300)
# fail-fast: an all-reduce one rank never joins aborts within the 2 s timeout (2 GPUs)
bivae_add_mpi_test(cuda_comm_nccl_timeout_np2 2 $<TARGET_FILE:cuda_comm> nccl-timeout)
set_tests_properties(cuda_comm_nccl_timeout_np2 PROPERTIES SKIP_RETURN_CODE 77
                     SKIP_REGULAR_EXPRESSION "SKIP: "
                     PASS_REGULAR_EXPRESSION "ncclAllReduce on rank 0: did not complete within"
                     LABELS "mpi;cuda" TIMEOUT 120)

if(BIVAE_CUDA_EMU)
  cuemu_translate(${CMAKE_CURRENT_SOURCE_DIR}/cuda/test_cuda_philox.cu philox_cpp)
  add_executable(cuda_philox ${philox_cpp})
  target_include_directories(cuda_philox PRIVATE ${CMAKE_SOURCE_DIR} ${RANDOM123_INCLUDE_DIR})
  target_link_libraries(cuda_philox PRIVATE cuemu)
  add_test(NAME cuda_philox COMMAND cuda_philox)
  set_tests_properties(cuda_philox PROPERTIES SKIP_RETURN_CODE 77 LABELS "unit;cuda")
elseif(BIVAE_HAVE_CUDA)
  # Philox outputs in device code vs host, word for word
  add_executable(cuda_philox cuda/test_cuda_philox.cu)
  set_property(TARGET cuda_philox PROPERTY COMPILE_OPTIONS "")   # gcc flags are not nvcc's
  target_include_directories(cuda_philox PRIVATE ${CMAKE_SOURCE_DIR} ${RANDOM123_INCLUDE_DIR})
  target_link_libraries(cuda_philox PRIVATE CUDA::cudart)
  add_test(NAME cuda_philox COMMAND cuda_philox)
  set_tests_properties(cuda_philox PROPERTIES SKIP_RETURN_CODE 77 LABELS "unit;cuda")
endif()

# the trainer end to end on the GPU against the CPU: np=1, np=2 sharing one GPU (--comm mpi,
# both first-layer modes), np=2 with NCCL when there are two GPUs
bivae_add_script_test(cuda_train cuda/train_gpu.sh $<TARGET_FILE:ckpt_tool>)
set_tests_properties(cuda_train PROPERTIES LABELS "script;cuda" TIMEOUT 600)
# the CAP model on the GPU against the CPU, and its GPU checkpoints
bivae_add_script_test(cuda_cap cuda/cap_gpu.sh $<TARGET_FILE:ckpt_tool>)
set_tests_properties(cuda_cap PROPERTIES LABELS "script;cuda" TIMEOUT 600)

# --device cuda where no GPU can be used: the reason a user can act on, exit 3 (cuemu also
# plays a missing driver, an old driver and no devices); --device auto's CPU fallback
if(BIVAE_HAVE_CUDA)
  bivae_add_script_test(cuda_no_device cuda/no_device.sh)
  set_tests_properties(cuda_no_device PROPERTIES LABELS "script;cuda")
endif()

# Under cuemu (BIVAE_CUDA_EMU, tests/cuemu): two emulated devices, so that the NCCL tests
# with one GPU per rank run too; cuemu's own checks; and the op and model tests again with
# the threads of every block run in reverse order (a missing barrier changes results).
if(BIVAE_CUDA_EMU)
  include(${CMAKE_SOURCE_DIR}/tests/cuemu/selftest.cmake)
  foreach(t cuda_ops cuda_model)
    add_test(NAME ${t}_reverse COMMAND ${t})
    set_tests_properties(${t}_reverse PROPERTIES ENVIRONMENT CUEMU_ORDER=reverse
                         SKIP_RETURN_CODE 77 LABELS "unit;cuda;cuemu")
  endforeach()
  set_property(TEST cuda_ops cuda_launches cuda_model cuda_comm_staged_np1 cuda_comm_staged_np2
               cuda_comm_nccl_np1 cuda_comm_nccl_np2 cuda_comm_nccl_bound_np2
               cuda_comm_nccl_timeout_np2 cuda_train
               APPEND PROPERTY ENVIRONMENT CUEMU_DEVICES=2)
endif()
