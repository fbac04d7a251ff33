/* partition/sort.h — in-place sorts of integer arrays (no comparator calls: used on tens
 * of millions of CSR columns) and in-place de-duplication of sorted arrays. */
#ifndef BIVAE_PARTITION_SORT_H
#define BIVAE_PARTITION_SORT_H

#include <stddef.h>
#include <stdint.h>

void part_sort_i32(int32_t *a, size_t n);          /* ascending; introsort, O(n log n) worst */
void part_sort_i64(int64_t *a, size_t n);
size_t part_unique_i32(int32_t *a, size_t n);      /* sorted a -> its distinct values first; */
size_t part_unique_i64(int64_t *a, size_t n);      /* returns how many                       */

#endif
