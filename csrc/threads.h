/* The little of threads the kernel needs, on POSIX threads or Win32:
 *
 *   dm_thread_start / dm_thread_join: run fn(arg) on a thread of its own;
 *     dm_thread_start returns 0 when it could not start one (the caller then
 *     does the work itself);
 *   dm_event: a flag one thread sets once and another waits for, in slices
 *     of milliseconds (the caller looks for Ctrl-C between them);
 *   dm_atomic_load / dm_atomic_store: an int flag read and written by
 *     different threads (cancellation), with no ordering beyond the flag's own.
 *
 * Nothing else in csrc/ includes a threads header.  DM_NO_THREADS builds
 * without any: no thread ever starts, and everything runs on the caller's.
 */
#ifndef DM_THREADS_H
#define DM_THREADS_H

#include <stdint.h>

#if defined(DM_NO_THREADS)
/* ------------------------------------------------------------ no threads */
typedef struct { void (*fn)(void *); void *arg; } dm_thread;
typedef struct { int set; } dm_event;

static inline int dm_thread_start(dm_thread *t, void (*fn)(void *), void *arg) { (void)t; (void)fn; (void)arg; return 0; }
static inline void dm_thread_join(dm_thread *t) { (void)t; }
static inline void dm_event_init(dm_event *e) { e->set = 0; }
static inline void dm_event_set(dm_event *e) { e->set = 1; }
static inline int dm_event_wait(dm_event *e, int ms) { (void)ms; return e->set; }
static inline void dm_event_destroy(dm_event *e) { (void)e; }

#elif defined(_WIN32)
/* ------------------------------------------------------------------ Win32 */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX /* no min()/max() macros: dm_fee has fields of those names */
#endif
#include <windows.h>
#include <process.h>

typedef struct { void (*fn)(void *); void *arg; HANDLE h; } dm_thread;
typedef struct { SRWLOCK lock; CONDITION_VARIABLE cv; int set; } dm_event;

static unsigned __stdcall dm_thread_main(void *t)
{
    ((dm_thread *)t)->fn(((dm_thread *)t)->arg);
    return 0;
}

static int dm_thread_start(dm_thread *t, void (*fn)(void *), void *arg)
{
    t->fn = fn; t->arg = arg;
    /* _beginthreadex, not CreateThread: the thread uses the C runtime (malloc, qsort) */
    t->h = (HANDLE)_beginthreadex(NULL, 0, dm_thread_main, t, 0, NULL);
    return t->h != 0;
}

static void dm_thread_join(dm_thread *t)
{
    WaitForSingleObject(t->h, INFINITE);
    CloseHandle(t->h);
}

static void dm_event_init(dm_event *e)
{
    InitializeSRWLock(&e->lock);
    InitializeConditionVariable(&e->cv);
    e->set = 0;
}

static void dm_event_set(dm_event *e)
{
    AcquireSRWLockExclusive(&e->lock);
    e->set = 1;
    ReleaseSRWLockExclusive(&e->lock);
    WakeAllConditionVariable(&e->cv);
}

/* Wait up to about ms milliseconds (a spurious wake-up returns early, which the
 * caller's loop absorbs); whether the event is set. */
static int dm_event_wait(dm_event *e, int ms)
{
    AcquireSRWLockExclusive(&e->lock);
    if (!e->set) SleepConditionVariableSRW(&e->cv, &e->lock, (DWORD)ms, 0);
    const int set = e->set;
    ReleaseSRWLockExclusive(&e->lock);
    return set;
}

static void dm_event_destroy(dm_event *e) { (void)e; /* SRW locks and condition variables hold no resources */ }

#else
/* --------------------------------------------------------------- pthreads */
#include <errno.h>
#include <pthread.h>
#include <time.h>

typedef struct { void (*fn)(void *); void *arg; pthread_t th; } dm_thread;
typedef struct { pthread_mutex_t mu; pthread_cond_t cv; int set; } dm_event;

static void *dm_thread_main(void *t)
{
    ((dm_thread *)t)->fn(((dm_thread *)t)->arg);
    return NULL;
}

static int dm_thread_start(dm_thread *t, void (*fn)(void *), void *arg)
{
    t->fn = fn; t->arg = arg;
    return pthread_create(&t->th, NULL, dm_thread_main, t) == 0;
}

static void dm_thread_join(dm_thread *t) { pthread_join(t->th, NULL); }

static void dm_event_init(dm_event *e)
{
    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->cv, NULL);
    e->set = 0;
}

static void dm_event_set(dm_event *e)
{
    pthread_mutex_lock(&e->mu);
    e->set = 1;
    pthread_cond_signal(&e->cv);
    pthread_mutex_unlock(&e->mu);
}

/* Wait up to ms milliseconds; whether the event is set. */
static int dm_event_wait(dm_event *e, int ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += (long)ms * 1000000L;
    until.tv_sec += until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    pthread_mutex_lock(&e->mu);
    while (!e->set && pthread_cond_timedwait(&e->cv, &e->mu, &until) != ETIMEDOUT) {}
    const int set = e->set;
    pthread_mutex_unlock(&e->mu);
    return set;
}

static void dm_event_destroy(dm_event *e)
{
    pthread_mutex_destroy(&e->mu);
    pthread_cond_destroy(&e->cv);
}
#endif

/* ---------------------------------------------------------------- atomics */
#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
/* long is 32 bits on Windows, as int; the interlocked calls are full barriers,
 * more than the flag needs, and it is polled only every few thousand items */
static __forceinline int dm_atomic_load(const int *p) { return (int)_InterlockedOr((volatile long *)p, 0); }
static __forceinline void dm_atomic_store(int *p, int v) { _InterlockedExchange((volatile long *)p, (long)v); }
#else
static inline int dm_atomic_load(const int *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
static inline void dm_atomic_store(int *p, int v) { __atomic_store_n(p, v, __ATOMIC_RELAXED); }
#endif

#endif /* DM_THREADS_H */
