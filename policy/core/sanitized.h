/* BPG_SANITIZED: defined when this file is compiled under a sanitizer (AddressSanitizer,
 * ThreadSanitizer, MemorySanitizer), whose checks must see every block: the heap tuning
 * (heap.c) and the JSON heap (jsonheap.c) then step aside. GCC says so with
 * __SANITIZE_*__, clang with __has_feature. No types, no functions. */
#ifndef POLICY_CORE_SANITIZED_H
#define POLICY_CORE_SANITIZED_H

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define BPG_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define BPG_SANITIZED 1
#endif

#endif
