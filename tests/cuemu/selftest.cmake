# tests/cuemu/selftest.cmake — included by tests/cuda.cmake in cuemu builds.
# cuemu's own checks (test_cuemu.cu): correct programs give CUDA's results, and each kind
# of bug cuemu claims to catch is caught.
cuemu_translate(${CMAKE_SOURCE_DIR}/tests/cuemu/test_cuemu.cu test_cuemu_cpp)
add_executable(test_cuemu ${test_cuemu_cpp})
target_link_libraries(test_cuemu PRIVATE cuemu)
add_test(NAME cuemu_ok COMMAND test_cuemu ok)
# a bug mode must end the program (abort: 134, fault: 139) with cuemu's report
function(cuemu_bug_test name mode status regex)
  add_test(NAME ${name} COMMAND bash -c "\"$0\" ${mode} 2>&1; echo \"exit status $?\""
           $<TARGET_FILE:test_cuemu>)
  set_tests_properties(${name} PROPERTIES PASS_REGULAR_EXPRESSION "${regex}.*exit status ${status}")
endfunction()
cuemu_bug_test(cuemu_divergent divergent 134
  "kernel divergent_kernel, block \\(0,0,0\\): 16 threads wait at __syncthreads that 16 threads")
cuemu_bug_test(cuemu_exited exited 134
  "warp 0 has a full-mask warp collective after lane 16 exited")
cuemu_bug_test(cuemu_sites sites 134
  "lane 0 waits at the warp collective of .*test_cuemu.cu:[0-9]+ \\(its #1\\), lane 16 at .*test_cuemu.cu:[0-9]+ \\(its #1\\)")
cuemu_bug_test(cuemu_freed freed 139
  "offset 0 of a 256-byte device allocation that was freed \\(use after cudaFree\\)")
cuemu_bug_test(cuemu_host_deref host-deref 139
  "host code dereferenced device memory at 0x[0-9a-f]+ \\(offset 12 of a 256-byte")
cuemu_bug_test(cuemu_oob oob 139
  "is 0 bytes past the end of a 4000-byte device allocation")
cuemu_bug_test(cuemu_unordered unordered 134
  "fill_one_kernel on stream 0x[0-9a-f]+ while a collective is still running on stream 0x[0-9a-f]+: nothing orders them")
add_test(NAME cuemu_race_forward COMMAND test_cuemu race)
set_tests_properties(cuemu_race_forward PROPERTIES PASS_REGULAR_EXPRESSION
  "race: 63 of 64 reads saw a stale value")
add_test(NAME cuemu_race_reverse COMMAND test_cuemu race)
set_tests_properties(cuemu_race_reverse PROPERTIES ENVIRONMENT CUEMU_ORDER=reverse
  PASS_REGULAR_EXPRESSION "race: 1 of 64 reads saw a stale value")
set_tests_properties(cuemu_ok cuemu_divergent cuemu_exited cuemu_sites cuemu_freed
  cuemu_host_deref cuemu_oob cuemu_unordered
  cuemu_race_forward cuemu_race_reverse PROPERTIES LABELS "unit;cuda;cuemu")
