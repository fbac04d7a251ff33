/* placeholder: being written */
typedef int bivae_placeholder_cpu_kernels;
