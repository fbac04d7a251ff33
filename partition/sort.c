/* partition/sort.c — see sort.h */
#include "partition/sort.h"

#define SORT_T int32_t
#define SORT_NAME(x) i32_##x
#include "partition/sort_tmpl.h"
#undef SORT_T
#undef SORT_NAME

#define SORT_T int64_t
#define SORT_NAME(x) i64_##x
#include "partition/sort_tmpl.h"
#undef SORT_T
#undef SORT_NAME

void part_sort_i32(int32_t *a, size_t n) { i32_sort(a, n); }
void part_sort_i64(int64_t *a, size_t n) { i64_sort(a, n); }
size_t part_unique_i32(int32_t *a, size_t n) { return i32_unique(a, n); }
size_t part_unique_i64(int64_t *a, size_t n) { return i64_unique(a, n); }
